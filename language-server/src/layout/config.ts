// ELK options for the graph view, in one place, a method per element kind
// (after Sprotty's DefaultLayoutConfigurator: graphOptions, nodeOptions,
// portOptions, edgeOptions, labelOptions). Data flows left to right; each
// vertex has one in-port per operand on its west side in operand order
// (FIXED_ORDER, so `a - b` is never drawn as `b - a`) and one out-port east.

import type { LayoutOptions } from 'elkjs/lib/elk-api.js';

/** Where a node is pinned: independent variables first, final outputs last. */
export type Pin = 'first' | 'last' | undefined;

export interface GraphSize {
  readonly nodes: number;
  readonly edges: number;
  readonly compound: boolean;
}

export class EligoLayoutConfigurator {
  constructor(readonly size: GraphSize) {}

  /**
   * The root graph. ELK takes seconds at 1,000 nodes, and its crossing
   * minimisation and model-order tie-breaking dominate that time (measured on
   * the benchmark graphs: 4–5× between these settings), so graphs beyond a few
   * hundred elements trade crossing quality for time.
   */
  graphOptions(): LayoutOptions {
    const small = this.size.nodes + this.size.edges <= 300;
    return {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.hierarchyHandling': this.size.compound ? 'INCLUDE_CHILDREN' : 'SEPARATE_CHILDREN',
      'elk.padding': '[top=16,left=16,bottom=16,right=16]',
      'elk.spacing.nodeNode': '14',
      'elk.spacing.edgeNode': '10',
      'elk.spacing.edgeEdge': '6',
      'elk.spacing.edgeLabel': '2',
      'elk.spacing.componentComponent': '28',
      'elk.layered.spacing.nodeNodeBetweenLayers': '34',
      'elk.layered.spacing.edgeNodeBetweenLayers': '12',
      'elk.layered.spacing.edgeEdgeBetweenLayers': '6',
      // Each partial sits at the head of its edge, beside the operand port it
      // differentiates: ∂(a−b)/∂b is read next to the b port. End labels need
      // no dummy nodes, so this is also about twice as fast as centre labels.
      'elk.edgeLabels.placement': 'HEAD',
      // Keep the program's order where the crossing count does not decide: a
      // small graph then reads like its source.
      'elk.layered.considerModelOrder.strategy': small ? 'NODES_AND_EDGES' : 'NONE',
      'elk.layered.thoroughness': small ? '7' : '1',
      'elk.layered.crossingMinimization.greedySwitch.type': small ? 'TWO_SIDED' : 'OFF',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
    };
  }

  /** An expanded equation: a compound node with room for its title. */
  groupOptions(): LayoutOptions {
    return {
      'elk.padding': '[top=24,left=10,bottom=10,right=10]',
      'elk.direction': 'RIGHT',
    };
  }

  /** A vertex (or a collapsed equation). */
  nodeOptions(pin: Pin, ports: 'ordered' | 'sides'): LayoutOptions {
    const o: LayoutOptions = { 'elk.portConstraints': ports === 'ordered' ? 'FIXED_ORDER' : 'FIXED_SIDE' };
    if (pin === 'first') o['elk.layered.layering.layerConstraint'] = 'FIRST';
    if (pin === 'last') o['elk.layered.layering.layerConstraint'] = 'LAST';
    return o;
  }

  /**
   * Port `k` of `n` operands, or the out-port. ELK numbers ports clockwise from
   * the top-left corner, so on the west side a higher index sits higher up:
   * operand 0 gets the highest index and is drawn on top.
   */
  portOptions(side: 'in' | 'out', k = 0, n = 1): LayoutOptions {
    if (side === 'out') return { 'elk.port.side': 'EAST', 'elk.port.index': '0' };
    return { 'elk.port.side': 'WEST', 'elk.port.index': String(1 + (n - 1 - k)) };
  }

  edgeOptions(): LayoutOptions {
    return {};
  }

  labelOptions(): LayoutOptions {
    return { 'elk.edgeLabels.placement': 'HEAD', 'elk.edgeLabels.inline': 'false' };
  }

  /** Port size: small squares on the node border. */
  readonly portSize = 4;
}
