// Writes the extension's manifest keys into package.json: contributions,
// activation, entry point, capabilities, icon, gallery banner, repository and
// the `package` / `e2e` scripts. Read-modify-write of only those keys, so the
// other keys (scripts, dependencies) that others edit stay as they are.
// Idempotent: `node scripts/package-manifest.mjs` after changing this file.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { applyEnums } from './manifest-enums.mjs';

const file = fileURLToPath(new URL('../package.json', import.meta.url));
const pkg = JSON.parse(readFileSync(file, 'utf8'));

const cmd = (command, title, icon, extra = {}) => ({ command, title, category: 'Eligo', ...(icon ? { icon: `$(${icon})` } : {}), ...extra });
const isEligo = 'editorLangId == eligo';

const commands = [
  cmd('eligo.showGraph', 'Show Graph', 'type-hierarchy-sub', { enablement: isEligo + ' || resourceLangId == eligo || activeWebviewPanelId == eligo.panel' }),
  cmd('eligo.findLearningRule', 'Find Learning Rule', 'sparkle'),
  cmd('eligo.searchOrder', 'Search Elimination Order', 'list-ordered'),
  cmd('eligo.train', 'Train', 'play'),
  cmd('eligo.exportGraph', 'Export Graph as HTML/SVG', 'export'),
  cmd('eligo.restartServer', 'Restart Server', 'debug-restart'),
  cmd('eligo.cancelJob', 'Cancel Running Job', 'stop-circle'),
  cmd('eligo.showOutput', 'Show Log', 'output'),
  cmd('eligo.openExample', 'Open Example', 'file-code'),
];
// showGraph's enablement is only for menus; keep the palette simple.
delete commands[0].enablement;

const itemCommands = ['eligo.showGraph', 'eligo.findLearningRule', 'eligo.searchOrder', 'eligo.train', 'eligo.exportGraph'];

const menus = {
  commandPalette: [...itemCommands.map((command) => ({ command, when: isEligo })), { command: 'eligo.cancelJob', when: 'eligo.jobRunning' }],
  'editor/title': [
    { command: 'eligo.showGraph', when: isEligo, group: 'navigation@1' },
    { command: 'eligo.findLearningRule', when: isEligo, group: 'navigation@2' },
    { command: 'eligo.train', when: isEligo, group: '1_eligo@1' },
    { command: 'eligo.searchOrder', when: isEligo, group: '1_eligo@2' },
    { command: 'eligo.exportGraph', when: isEligo, group: '1_eligo@3' },
  ],
  'editor/context': [
    { command: 'eligo.showGraph', when: isEligo, group: 'eligo@1' },
    { command: 'eligo.findLearningRule', when: isEligo, group: 'eligo@2' },
    { command: 'eligo.searchOrder', when: isEligo, group: 'eligo@3' },
    { command: 'eligo.train', when: isEligo, group: 'eligo@4' },
    { command: 'eligo.exportGraph', when: isEligo, group: 'eligo@5' },
  ],
  'explorer/context': [{ command: 'eligo.showGraph', when: 'resourceLangId == eligo', group: 'eligo@1' }],
};

const configuration = {
  title: 'Eligo',
  properties: {
    'eligo.analysis.steps': {
      type: 'integer',
      default: 10,
      minimum: 1,
      maximum: 1000,
      order: 1,
      markdownDescription:
        'Time steps **T** over which models are unrolled for the costs in code lenses, hovers and the graph (LANGUAGE.md §2). Costs of time-unrolled rules grow with T.',
    },
    'eligo.analysis.debounceMs': {
      type: 'integer',
      default: 50,
      minimum: 0,
      maximum: 5000,
      order: 2,
      description: 'Quiet time in milliseconds after the last keystroke before a document is analysed again.',
    },
    'eligo.objective': {
      type: 'string',
      default: 'multiplications',
      enum: ['multiplications', 'memory', 'time'],
      order: 3,
      enumDescriptions: [
        'Fewest multiplications to accumulate the Jacobian.',
        'Lowest peak memory of stored Jacobians and traces.',
        'Shortest measured time on this machine.',
      ],
      description: 'What searches minimise (Search Elimination Order, Find Learning Rule); asked again in the command, with this as the default.',
    },
    'eligo.hardwareProfile': {
      // enum and enumDescriptions: generated from the hardware registry (scripts/manifest-enums.mjs).
      type: 'string',
      default: 'laptop',
      order: 4,
      description: 'Hardware whose limits a learning rule must fit (memory, expressible terms). Asked again in Find Learning Rule.',
    },
    'eligo.search.budgetSeconds': {
      type: 'number',
      default: 30,
      minimum: 0.1,
      maximum: 3600,
      order: 5,
      description: 'Time budget of a search in seconds; it stops there and keeps the best found.',
    },
    'eligo.train.task': {
      type: 'string',
      default: 'correlated',
      order: 10,
      description: 'Default training task offered first by Eligo: Train (a task name the server knows).',
    },
    'eligo.train.steps': {
      type: 'integer',
      default: 100,
      minimum: 1,
      maximum: 10000,
      order: 11,
      description: "Optimizer updates (batches) of a training run; the sequence length is the task's T (e.g. correlated:T=200).",
    },
    'eligo.train.epochs': { type: 'integer', default: 1, minimum: 1, maximum: 1000, order: 12, description: 'Passes over the training data.' },
    'eligo.train.learningRate': {
      type: 'number',
      default: 0.001,
      exclusiveMinimum: 0,
      maximum: 10,
      order: 13,
      description: 'Learning rate of the parameter updates.',
    },
    'eligo.train.batchSize': { type: 'integer', default: 16, minimum: 1, maximum: 65536, order: 14, description: 'Sequences per batch.' },
    'eligo.train.seed': { type: 'integer', default: 0, minimum: 0, order: 15, description: 'Random seed of initialisation and data order, so runs repeat.' },
    'eligo.server.execArgv': {
      type: 'array',
      items: { type: 'string' },
      default: [],
      order: 20,
      scope: 'machine',
      description: 'Extra Node.js arguments for the language server process, e.g. "--max-old-space-size=8192". Takes effect after Restart Server.',
    },
    'eligo.trace.server': {
      type: 'string',
      enum: ['off', 'messages', 'verbose'],
      default: 'off',
      order: 21,
      scope: 'window',
      description: 'Log the messages between VS Code and the Eligo language server to the "Eligo LSP Trace" output.',
    },
  },
};

const step = (id, title, description, md, completionEvents, extra = {}) => ({
  id,
  title,
  description,
  media: { markdown: `media/walkthrough/${md}` },
  completionEvents,
  ...extra,
});

const walkthroughs = [
  {
    id: 'eligo.gettingStarted',
    title: 'Get started with Eligo',
    description: 'Open an example, look at its costs, show its graph, find a learning rule, train it.',
    steps: [
      step(
        'openExample',
        'Open an example',
        'Eligo ships spiking and recurrent models and the AD benchmark functions.\n[Open Example](command:eligo.openExample)\n[Open the LIF model](command:eligo.openExample?%5B%22lif.eligo%22%5D)',
        'open-example.md',
        ['onCommand:eligo.openExample'],
      ),
      step(
        'costs',
        'Look at its costs',
        'Code lenses above each model and function show the multiplications of forward, reverse and Markowitz elimination, computed from the graph. Hover a name for more.\n[Settings: time steps T](command:workbench.action.openSettings?%5B%22eligo.analysis.steps%22%5D)',
        'costs.md',
        ['onSettingChanged:eligo.analysis.steps', 'onStepSelected'],
      ),
      step(
        'showGraph',
        'Show its graph',
        'One vertex per elemental operation, the Jacobian kind on every edge.\n[Show Graph](command:eligo.showGraph)',
        'show-graph.md',
        ['onCommand:eligo.showGraph'],
      ),
      step(
        'findRule',
        'Find a learning rule',
        'Search for approximate, local, online rules on the Pareto front of cost and gradient alignment, and insert the one you choose.\n[Find Learning Rule](command:eligo.findLearningRule)',
        'find-rule.md',
        ['onCommand:eligo.findLearningRule'],
      ),
      step('train', 'Train it', 'Train the model with a rule and watch the curves.\n[Train](command:eligo.train)', 'train.md', ['onCommand:eligo.train']),
    ],
  },
];

pkg.main = './dist/extension.js';
pkg.icon = 'media/icon.png';
pkg.galleryBanner = { color: '#1e1e2e', theme: 'dark' };
pkg.activationEvents = ['onLanguage:eligo', 'onWebviewPanel:eligo.panel', 'onCommand:eligo.openExample', 'onWalkthrough:eligo.gettingStarted'];
pkg.capabilities = {
  untrustedWorkspaces: {
    supported: 'limited',
    description:
      "Analysis, graphs and searches work in Restricted Mode. Training on data files of the workspace asks for trust, and the server's Node arguments are not read from an untrusted workspace.",
    restrictedConfigurations: ['eligo.server.execArgv'],
  },
  virtualWorkspaces: { supported: 'limited', description: 'Training on data files needs files on disk.' },
};
pkg.contributes = {
  languages: [
    {
      id: 'eligo',
      aliases: ['Eligo', 'eligo'],
      extensions: ['.eligo'],
      configuration: './media/language-configuration.json',
      icon: { light: './media/icon.png', dark: './media/icon.png' },
    },
  ],
  grammars: [{ language: 'eligo', scopeName: 'source.eligo', path: './media/eligo.tmLanguage.json' }],
  snippets: [{ language: 'eligo', path: './media/snippets.json' }],
  commands,
  menus,
  configuration,
  walkthroughs,
};
pkg.scripts = {
  ...pkg.scripts,
  package: 'node scripts/package.mjs',
  e2e: 'bash scripts/e2e-setup.sh && mocha --no-config --node-option import=tsx --timeout 600000 test/e2e/vscode.e2e.test.ts',
};

writeFileSync(file, `${JSON.stringify(applyEnums(pkg), null, 2)}\n`);
console.log('package.json: manifest keys written');
