// AlphaZero-style search over approximation choices (Silver et al. 2017):
// a rule is built one decision at a time — for each temporal block of the
// model keep it, keep its diagonal or drop it, then online or reverse — and
// PUCT Monte-Carlo tree search guided by the policy/value network of
// ruleNet.ts picks each decision. A finished rule is evaluated by find-rule
// (cost, hardware fit, credit, alignment along the reference run: the
// cheap fidelity of the multi-fidelity evaluation; every rule evaluated is a
// candidate for the front and for training); its reward is
//
//   r = w·alignment − (1 − w)·cost − [does not fit the chip] − ½·[learns no hidden weight]
//
// with cost the log of multiplications and memory scaled between the
// cheapest and the dearest known rule of the model (no recurrent credit …
// RTRL), and w drawn per episode, so the episodes together trace the front.
// The network sees w, and is trained by self-play across models
// (ruleAgent.ts) on the visit counts and the rewards of these episodes.

import { Rng } from '../graph/random.js';
import type { BlockChoice, Candidate, RuleSearch, Schedule, SearchApi } from '../rules/find.js';
import { classify } from '../rules/blocks.js';
import { ACTIONS, RULE_FEATURES, ruleNetForward, shippedRuleNet, softmax, type RuleNetWeights } from './ruleNet.js';

const CHOICES: readonly BlockChoice[] = ['keep', 'diagonal', 'zero'];
const SCHEDULES: readonly Schedule[] = ['online', 'reverse'];

/** One decision's input to the network, with the actions it allows. */
export interface Decision {
  readonly x: Float32Array;
  readonly allowed: boolean[];
}

/** Features of decision `depth` of a partial rule (`prefix`), under objective weight `w`. */
export function decisionFeatures(space: SearchApi['space'], prefix: readonly number[], w: number, hardware: boolean): Decision {
  const K = space.length;
  const d = prefix.length;
  const x = new Float32Array(RULE_FEATURES);
  const drops = prefix.slice(0, Math.min(d, K)).filter((a) => a === 2).length;
  x[8] = K ? Math.min(d, K) / K : 1;
  x[9] = d ? drops / Math.max(1, Math.min(d, K)) : 0;
  x[10] = w;
  x[11] = 1 - w;
  x[12] = hardware ? 1 : 0;
  if (d >= K) {
    x[3] = 1;
    return { x, allowed: [true, true, false] };
  }
  const s = space[d]!;
  const form = classify(s.block.sparsity).form;
  const square = s.choices.includes('diagonal');
  if (form === 'scalar' || form === 'diagonal') x[0] = 1;
  else if (square) x[1] = 1;
  else x[2] = 1;
  x[4] = Math.log10(1 + s.block.sparsity.valueCount) / 6;
  x[5] = s.block.of === s.block.wrt.name ? 1 : 0;
  x[6] = d / Math.max(1, K);
  x[7] = s.block.constant ? 1 : 0;
  return { x, allowed: CHOICES.map((c) => s.choices.includes(c)) };
}

export interface Example {
  readonly x: Float32Array;
  readonly allowed: boolean[];
  /** Visit distribution over the actions (the policy target). */
  readonly pi: Float64Array;
  /** The episode's final reward (the value target). */
  z: number;
}

interface Node {
  readonly prefix: number[];
  readonly prior: Float64Array;
  readonly allowed: boolean[];
  readonly value: number;
  readonly n: Float64Array;
  readonly q: Float64Array;
  readonly children: (Node | null)[];
  visits: number;
}

export interface MctsOptions {
  /** Simulations per decision (default 12). */
  readonly simulations?: number;
  readonly cPuct?: number;
  readonly weights?: RuleNetWeights;
  /** Collect self-play examples here. */
  readonly examples?: Example[];
  /** Dirichlet-like exploration noise at the root (self-play): the prior is mixed with a random distribution by this much. */
  readonly noise?: number;
  /** Stop after this many episodes (self-play); default: until the time is up. */
  readonly episodes?: number;
  readonly hardware?: boolean;
  /** The network file (default: the shipped models/agent/rule-agent.json). */
  readonly agentPath?: string;
}

function costScale(cands: readonly (Candidate | null)[]): { lo: number; hi: number } {
  const xs = cands.filter((c): c is Candidate => c !== null).map((c) => Math.log10(1 + c.cost.multiplicationsPerStep) + Math.log10(1 + c.cost.memoryBytes));
  if (!xs.length) return { lo: 0, hi: 1 };
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return { lo, hi: hi > lo ? hi : lo + 1 };
}

/** The scalar reward of a candidate under weight w (see the header). */
export function rewardOf(c: Candidate | null, w: number, scale: { lo: number; hi: number }): number {
  if (c === null) return -1;
  const cost = (Math.log10(1 + c.cost.multiplicationsPerStep) + Math.log10(1 + c.cost.memoryBytes) - scale.lo) / (scale.hi - scale.lo);
  let r = w * c.alignmentMean - (1 - w) * Math.min(1, Math.max(0, cost));
  if (c.hardware && !c.hardware.fits) r -= 1;
  if (c.credit.kind === 'none' || c.credit.kind === 'readout-only') r -= 0.5;
  return Math.max(-1, Math.min(1, r));
}

export function mctsSearch(o: MctsOptions = {}): RuleSearch {
  const shipped = o.weights ? undefined : shippedRuleNet(o.agentPath);
  const weights = o.weights ?? shipped!.weights;
  return {
    name: 'mcts',
    ...(shipped?.note ? { note: `MCTS: ${shipped.note}` } : {}),
    async run(api) {
      const { space, evaluate, timeUp } = api;
      const K = space.length;
      const rng = new Rng(api.seed ^ 0x5bd1e995);
      const sims = o.simulations ?? 12;
      const c = o.cPuct ?? 1.5;
      const toRule = (prefix: readonly number[]): [BlockChoice[], Schedule] => [prefix.slice(0, K).map((a) => CHOICES[a]!), SCHEDULES[prefix[K]!]!];
      // The cheapest and the dearest rules set the cost scale (both are evaluated first by find-rule: cached).
      const scale = costScale([
        await evaluate(
          space.map(() => 'keep'),
          'online',
        ),
        await evaluate(
          space.map(() => 'zero'),
          'online',
        ),
        await evaluate(
          space.map(() => 'keep'),
          'reverse',
        ),
      ]);
      const leaf = async (prefix: number[], w: number): Promise<number> => rewardOf(await evaluate(...toRule(prefix)), w, scale);
      const makeNode = (prefix: number[], w: number): Node => {
        const d = decisionFeatures(space, prefix, w, o.hardware ?? false);
        const out = ruleNetForward(weights, d.x, d.allowed);
        return {
          prefix,
          prior: softmax(out.logits),
          allowed: d.allowed,
          value: out.value,
          n: new Float64Array(ACTIONS),
          q: new Float64Array(ACTIONS),
          children: new Array<Node | null>(ACTIONS).fill(null),
          visits: 0,
        };
      };
      let episode = 0;
      while (!timeUp() && (o.episodes === undefined || episode < o.episodes)) {
        episode++;
        const w = rng.next();
        let root = makeNode([], w);
        if (o.noise) {
          const noise = root.allowed.map((a) => (a ? -Math.log(Math.max(1e-9, rng.next())) : 0));
          const z = noise.reduce((a, b) => a + b, 0);
          for (let k = 0; k < ACTIONS; k++) root.prior[k] = (1 - o.noise) * root.prior[k]! + (o.noise * noise[k]!) / z;
        }
        const trail: { d: Decision; pi: Float64Array }[] = [];
        let final = 0;
        for (let depth = 0; depth <= K && !timeUp(); depth++) {
          for (let s = 0; s < sims && !timeUp(); s++) {
            // Select down to a leaf, expand it (network value) or evaluate the rule (real reward), back up.
            const path: { node: Node; a: number }[] = [];
            let node = root;
            let value: number;
            for (;;) {
              let best = -1;
              let bestU = -Infinity;
              const sq = Math.sqrt(node.visits + 1);
              for (let a = 0; a < ACTIONS; a++) {
                if (!node.allowed[a]) continue;
                const u = (node.n[a]! ? node.q[a]! : node.value) + (c * node.prior[a]! * sq) / (1 + node.n[a]!);
                if (u > bestU) {
                  bestU = u;
                  best = a;
                }
              }
              path.push({ node, a: best });
              const prefix = [...node.prefix, best];
              if (prefix.length === K + 1) {
                value = await leaf(prefix, w);
                break;
              }
              const child = node.children[best];
              if (!child) {
                const fresh = makeNode(prefix, w);
                node.children[best] = fresh;
                value = fresh.value;
                break;
              }
              node = child;
            }
            for (const { node: p, a } of path) {
              p.q[a] = (p.q[a]! * p.n[a]! + value) / (p.n[a]! + 1);
              p.n[a] = p.n[a]! + 1;
              p.visits++;
            }
          }
          const total = root.n.reduce((a, b) => a + b, 0);
          const pi = Float64Array.from(root.n, (v) => (total ? v / total : 0));
          trail.push({ d: decisionFeatures(space, root.prefix, w, o.hardware ?? false), pi });
          let a = 0;
          for (let k = 1; k < ACTIONS; k++) if (root.n[k]! > root.n[a]! || (!root.allowed[a] && root.allowed[k])) a = k;
          const prefix = [...root.prefix, a];
          if (prefix.length === K + 1) {
            final = await leaf(prefix, w);
            break;
          }
          root = root.children[a] ?? makeNode(prefix, w);
        }
        if (o.examples) for (const t of trail) o.examples.push({ x: t.d.x, allowed: t.d.allowed, pi: t.pi, z: final });
      }
    },
  };
}
