// RobotArm_6DOF (examples/robot_arm.eligo): forward kinematics of a 6-DOF
// arm, Graphax examples/differential_kinematics.py as quoted in
// shared/reference/vertex-elimination.md §2 (note "+c1·s4" in py, unlike ay).

import { scalar, type EvalPoint, type Outputs } from './util.js';

export const EXAMPLE = 'robot_arm.eligo';

/** AlphaGrad's evaluation point: all six joint angles 0.02. */
export const EVAL: EvalPoint = { t1: 0.02, t2: 0.02, t3: 0.02, t4: 0.02, t5: 0.02, t6: 0.02 };

const a1 = 175,
  a2 = 890,
  a3 = 50,
  d1 = 575,
  d4 = 1035,
  d6 = 185;

/** The approach vector (ax, ay, az) and the outputs. */
export function robotArmPose(p: EvalPoint): { ax: number; ay: number; az: number; outputs: Outputs } {
  const t = [1, 2, 3, 4, 5, 6].map((i) => scalar(p, `t${i}`));
  const [c1, c2, c3, c4, c5, c6] = t.map(Math.cos) as [number, number, number, number, number, number];
  const [s1, s2, s3, s4, s5, s6] = t.map(Math.sin) as [number, number, number, number, number, number];
  const c23 = c2 * c3 - s2 * s3;
  const s23 = c2 * s3 + s2 * c3;

  const ax = s5 * (c1 * c23 * c4 + s1 * s4) + c1 * s23 * c5;
  const ay = s5 * (s1 * c23 * c4 - c1 * s4) + s1 * s23 * c5;
  const az = s23 * c4 * s5 - c23 * c5;
  const nz = c6 * (c23 * s5 + s23 * c4 * c5) - s23 * s4 * s6;
  const oz = -s6 * (c23 * s5 + s23 * c4 * c5) - s23 * s4 * c6;

  const z = Math.atan2(ay, ax);
  const y = Math.atan2(Math.sqrt(1 - az ** 2), az);
  const z2 = Math.atan2(oz, -nz);

  const reach = a1 + a2 * c2 + a3 * c23 + d4 * s23;
  const px = d6 * ax + c1 * reach;
  const py = d6 * (s5 * (s1 * c23 * c4 + c1 * s4) + s1 * s23 * c5) + s1 * reach;
  const pz = a2 * s2 + d1 + a3 * s23 - d4 * c23 + d6 * az;
  return { ax, ay, az, outputs: [[px], [py], [pz], [z], [y], [z2]] };
}

export function referenceValues(): Record<string, Outputs> {
  return { robot_arm: robotArmPose(EVAL).outputs };
}
