// Random function g (examples/random_g.eligo): AlphaGrad's code-generated
// task of 15 scalars → 20 scalars, Graphax examples/randoms.py, one equation
// per line as in shared/reference/random-functions-f-g.md.

import { scalar, type EvalPoint, type Outputs } from './util.js';

export const EXAMPLE = 'random_g.eligo';

/**
 * AlphaGrad's own point (all fifteen inputs 0.15, experiments.make_g) makes 14
 * of the 20 outputs NaN: v24 = atan(v10) − 1 < 0 is raised to the fractional
 * power v11, and v21 = v9 − v8 = 0 makes v31 = v2/(v21·v0) infinite (Graphax
 * dropped its g value tests for this reason). Costs do not depend on the point, but value
 * checks need finite numbers, so the example is evaluated at this point,
 * found by a search that keeps every intermediate inside its domain with a
 * margin (pow bases > 0.02, |atanh/asin argument| < 0.98, divisors and log
 * arguments away from 0) and then set as many inputs back to 0.15 as it could.
 */
export const EVAL: EvalPoint = {
  v0: 0.15,
  v1: -6,
  v2: -4,
  v3: 0.15,
  v4: 0.9,
  v5: 0.15,
  v6: -7,
  v7: 2,
  v8: 0.15,
  v9: 6,
  v10: 9,
  v11: 0.6,
  v12: 0.15,
  v13: 1.1,
  v14: 0.15,
};

/** AlphaGrad's evaluation point (all 0.15), where most outputs are NaN. */
export const ALPHAGRAD_EVAL: EvalPoint = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`v${i}`, 0.15]));

/** The outputs in the reference's order. */
export const G_OUTPUTS = [
  'v121',
  'v71',
  'v85',
  'v88',
  'v93',
  'v96',
  'v97',
  'v99',
  'v104',
  'v109',
  'v110',
  'v111',
  'v112',
  'v113',
  'v114',
  'v116',
  'v117',
  'v118',
  'v119',
  'v120',
];

export function randomG(p: EvalPoint): Outputs {
  const [v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14] = Array.from({ length: 15 }, (_, i) => scalar(p, `v${i}`)) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const v15 = 1; // a literal, not an input
  const v16 = 1; // a literal, not an input
  const v17 = Math.atan2(v15, v3);
  const v18 = Math.pow(v15, v14);
  const v19 = Math.atan2(v13, v17);
  const v20 = Math.pow(v17, v5);
  const v21 = v9 - v8;
  const v22 = Math.atan(v10);
  const v23 = v21 * v0;
  const v24 = v22 - v18;
  const v25 = Math.pow(v24, v11);
  const v26 = v21 + v12;
  const v27 = Math.exp(v2);
  const v28 = v21 + v26;
  const v29 = Math.pow(v16, v17);
  const v30 = Math.sin(v3);
  const v31 = v2 / v23;
  const v32 = Math.atan2(v24, v26);
  const v33 = v29 - v25;
  const v34 = Math.atan(v33);
  const v35 = v7 * v27;
  const v36 = Math.tan(v13);
  const v37 = v27 + v19;
  const v38 = v7 / v6;
  const v39 = v25 - v34;
  const v40 = v29 - v6;
  const v41 = Math.pow(v35, v4);
  const v42 = Math.cos(v0);
  const v43 = v40 - v19;
  const v44 = v41 / v7;
  const v45 = v40 - v8;
  const v46 = Math.atan2(v16, v43);
  const v47 = v8 / v30;
  const v48 = Math.pow(v37, v36);
  const v49 = Math.pow(v47, v44);
  const v50 = Math.atan2(v45, v40);
  const v51 = Math.atan2(v44, v13);
  const v52 = v4 / v34;
  const v53 = Math.atan2(v41, v1);
  const v54 = Math.atan2(v25, v53);
  const v55 = v12 + v51;
  const v56 = Math.pow(v3, v48);
  const v57 = v24 - v32;
  const v58 = Math.atanh(v48);
  const v59 = Math.atanh(v54);
  const v60 = Math.atan2(v2, v26);
  const v61 = v52 - v18;
  const v62 = Math.cos(v38);
  const v63 = v8 / v32;
  const v64 = Math.atan2(v42, v46);
  const v65 = Math.sinh(v36);
  const v66 = v61 - v50;
  const v67 = Math.pow(v13, v39);
  const v68 = Math.pow(v37, v26);
  const v69 = v68 - v43;
  const v70 = Math.log(v65);
  const v71 = Math.pow(v23, v58);
  const v72 = Math.atan2(v50, v69);
  const v73 = v20 / v72;
  const v74 = v41 * v56;
  const v75 = v39 * v33;
  const v76 = v61 * v15;
  const v77 = Math.pow(v66, v64);
  const v78 = Math.atan2(v53, v25);
  const v79 = v59 - v60;
  const v80 = Math.atan2(v73, v41);
  const v81 = v74 * v46;
  const v82 = v5 * v5;
  const v83 = Math.atan2(v28, v62);
  const v84 = Math.atan2(v39, v9);
  const v85 = v4 * v12;
  const v86 = v57 / v56;
  const v87 = Math.atan2(v61, v63);
  const v88 = Math.asinh(v14);
  const v89 = Math.pow(v86, v83);
  const v90 = Math.asin(v66);
  const v91 = v70 - v79;
  const v92 = Math.atan2(v37, v65);
  const v93 = v67 * v77;
  const v94 = Math.pow(v87, v55);
  const v95 = v49 * v49;
  const v96 = v92 / v94;
  const v97 = v15 + v95;
  const v98 = v91 / v76;
  const v99 = Math.atanh(v46);
  const v100 = v75 * v45;
  const v101 = v100 / v28;
  const v102 = v90 + v29;
  const v103 = Math.atan2(v80, v84);
  const v104 = v20 - v91;
  const v105 = v82 + v90;
  const v106 = v102 / v103;
  const v107 = Math.pow(v75, v42);
  const v108 = v68 * v62;
  const v109 = v102 / v1;
  const v110 = Math.pow(v98, v101);
  const v111 = -v100;
  const v112 = v31 / v89;
  const v113 = v105 / v108;
  const v114 = v22 - v70;
  const v115 = v106 * v44;
  const v116 = v107 - v81;
  const v117 = Math.pow(v58, v115);
  const v118 = v78 - v108;
  const v119 = Math.tan(v87);
  const v120 = Math.pow(v87, v48);
  const v121 = v105 + v38;
  return [
    [v121],
    [v71],
    [v85],
    [v88],
    [v93],
    [v96],
    [v97],
    [v99],
    [v104],
    [v109],
    [v110],
    [v111],
    [v112],
    [v113],
    [v114],
    [v116],
    [v117],
    [v118],
    [v119],
    [v120],
  ];
}

export function referenceValues(): Record<string, Outputs> {
  return { random_g: randomG(EVAL) };
}
