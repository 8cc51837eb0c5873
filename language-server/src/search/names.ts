// Vertex names for elimination orders live with the graph (graph/names.ts),
// so every layer (analyze, graph view, search, rules) shares one scheme.

export { OrderNameError, orderFromNames, orderToNames, vertexName, vertexNames } from '../graph/names.js';
