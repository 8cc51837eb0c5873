// The graph view's stylesheet. Colours come from VS Code's theme variables
// (light, dark, high contrast), with fallbacks for the standalone page that
// follow the system's light/dark preference. Installed as a constructed
// stylesheet: one bundle file, nothing for the CSP to allow beyond the
// page's nonce.

/** Must match layout/measure.ts GRAPH_FONT_FAMILY: the layout measured text in these fonts. */
export const GRAPH_FONT = '"DejaVu Sans", "Segoe UI", "Helvetica Neue", Arial, sans-serif';

const CSS = `
:root {
  /* Standalone page: VS Code's Light Modern colours. Inside VS Code the theme's
     variables are set on <html> itself and take precedence over these. */
  --vscode-foreground: #3b3b3b; --vscode-editor-background: #ffffff; --vscode-editor-foreground: #3b3b3b;
  --vscode-descriptionForeground: #616161; --vscode-panel-border: #e5e5e5; --vscode-panel-background: #f8f8f8;
  --vscode-editorWidget-background: #f8f8f8; --vscode-focusBorder: #005fb8; --vscode-errorForeground: #e51400;
  --vscode-editor-selectionBackground: #add6ff; --vscode-editorLineNumber-foreground: #6e7681;
  --vscode-editorHoverWidget-background: #f8f8f8; --vscode-editorHoverWidget-border: #c8c8c8; --vscode-editorHoverWidget-foreground: #3b3b3b;
  --vscode-charts-blue: #1a85ff; --vscode-charts-orange: #d18616; --vscode-charts-purple: #652d90;
  --vscode-charts-green: #388a34; --vscode-charts-red: #e51400; --vscode-charts-yellow: #bf8803;
  --vscode-button-background: #005fb8; --vscode-button-foreground: #ffffff; --vscode-button-hoverBackground: #0258a8;
  --vscode-button-secondaryBackground: #e5e5e5; --vscode-button-secondaryForeground: #3b3b3b; --vscode-button-secondaryHoverBackground: #cccccc;
  --vscode-settings-dropdownBackground: #ffffff; --vscode-settings-dropdownBorder: #cecece; --vscode-settings-dropdownForeground: #3b3b3b;
  --vscode-settings-dropdownListBorder: #c8c8c8; --vscode-settings-textInputBackground: #ffffff; --vscode-settings-textInputForeground: #3b3b3b;
  --vscode-settings-textInputBorder: #cecece; --vscode-input-placeholderForeground: #767676;
  --vscode-settings-checkboxBackground: #f8f8f8; --vscode-settings-checkboxBorder: #cecece; --vscode-settings-checkboxForeground: #3b3b3b;
  --vscode-list-activeSelectionBackground: #e8e8e8; --vscode-list-activeSelectionForeground: #000000;
  --vscode-list-hoverBackground: #f2f2f2; --vscode-list-hoverForeground: #000000;
  --vscode-panelTitle-activeBorder: #005fb8; --vscode-panelTitle-activeForeground: #3b3b3b; --vscode-panelTitle-inactiveForeground: #616161;
  --vscode-badge-background: #cccccc; --vscode-badge-foreground: #3b3b3b; --vscode-toolbar-hoverBackground: rgba(184, 184, 184, 0.31);
  --vscode-icon-foreground: #3b3b3b; --vscode-widget-shadow: rgba(0, 0, 0, 0.16);
}
@media (prefers-color-scheme: dark) {
  :root {
    /* Dark Modern. */
    --vscode-foreground: #cccccc; --vscode-editor-background: #1f1f1f; --vscode-editor-foreground: #cccccc;
    --vscode-descriptionForeground: #9d9d9d; --vscode-panel-border: #2b2b2b; --vscode-panel-background: #181818;
    --vscode-editorWidget-background: #202020; --vscode-focusBorder: #0078d4; --vscode-errorForeground: #f85149;
    --vscode-editor-selectionBackground: #264f78; --vscode-editorLineNumber-foreground: #6e7681;
    --vscode-editorHoverWidget-background: #202020; --vscode-editorHoverWidget-border: #454545; --vscode-editorHoverWidget-foreground: #cccccc;
    --vscode-charts-blue: #3794ff; --vscode-charts-orange: #d18616; --vscode-charts-purple: #b180d7;
    --vscode-charts-green: #89d185; --vscode-charts-red: #f14c4c; --vscode-charts-yellow: #cca700;
    --vscode-button-background: #0078d4; --vscode-button-foreground: #ffffff; --vscode-button-hoverBackground: #026ec1;
    --vscode-button-secondaryBackground: #313131; --vscode-button-secondaryForeground: #cccccc; --vscode-button-secondaryHoverBackground: #3c3c3c;
    --vscode-settings-dropdownBackground: #313131; --vscode-settings-dropdownBorder: #3c3c3c; --vscode-settings-dropdownForeground: #cccccc;
    --vscode-settings-dropdownListBorder: #454545; --vscode-settings-textInputBackground: #313131; --vscode-settings-textInputForeground: #cccccc;
    --vscode-settings-textInputBorder: #3c3c3c; --vscode-input-placeholderForeground: #989898;
    --vscode-settings-checkboxBackground: #313131; --vscode-settings-checkboxBorder: #3c3c3c; --vscode-settings-checkboxForeground: #cccccc;
    --vscode-list-activeSelectionBackground: #04395e; --vscode-list-activeSelectionForeground: #ffffff;
    --vscode-list-hoverBackground: #2a2d2e; --vscode-list-hoverForeground: #ffffff;
    --vscode-panelTitle-activeBorder: #0078d4; --vscode-panelTitle-activeForeground: #cccccc; --vscode-panelTitle-inactiveForeground: #9d9d9d;
    --vscode-badge-background: #616161; --vscode-badge-foreground: #f8f8f8; --vscode-toolbar-hoverBackground: rgba(90, 93, 94, 0.31);
    --vscode-icon-foreground: #cccccc; --vscode-widget-shadow: rgba(0, 0, 0, 0.36);
  }
}
:root {
  --bg: var(--vscode-editor-background);
  --fg: var(--vscode-editor-foreground);
  --muted: var(--vscode-descriptionForeground);
  --border: var(--vscode-panel-border, var(--vscode-widget-border));
  --widget: var(--vscode-editorWidget-background);
  --accent: var(--vscode-focusBorder);
  --sel: var(--vscode-editor-selectionBackground);
  --hover: var(--vscode-list-hoverBackground);
  --c-input: var(--vscode-charts-blue);
  --c-param: var(--vscode-charts-orange);
  --c-state: var(--vscode-charts-purple);
  --c-output: var(--vscode-charts-green);
  --c-loss: var(--vscode-charts-red);
  --c-fill: var(--vscode-charts-yellow);
  --c-edge: var(--vscode-editorLineNumber-foreground);
  --graph-font: ${GRAPH_FONT};
}
html, body { height: 100%; margin: 0; padding: 0; background: var(--bg); color: var(--fg); overflow: hidden; }
body { font-family: var(--vscode-font-family, system-ui, -apple-system, "Segoe UI", Ubuntu, sans-serif); font-size: var(--vscode-font-size, 13px); }
#app { display: flex; flex-direction: column; height: 100vh; }
.codicon { width: 16px; height: 16px; fill: currentColor; flex: none; vertical-align: middle; }

.toolbar { display: flex; align-items: center; gap: 6px; padding: 4px 8px; border-bottom: 1px solid var(--border); flex-wrap: wrap; min-height: 30px; }
.toolbar .title { font-weight: 600; margin-right: 8px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 40vw; }
.toolbar .spacer { flex: 1; }
.toolbar .count { color: var(--muted); font-size: 12px; white-space: nowrap; }
.toolbar vscode-textfield { width: 180px; }
.toolbar vscode-single-select { width: 150px; }
.toolbar .steps-field { width: 60px; }
.legend { display: flex; gap: 10px; align-items: center; color: var(--muted); font-size: 11px; padding: 2px 8px; border-bottom: 1px solid var(--border); flex-wrap: wrap; }
.legend .item { display: inline-flex; gap: 4px; align-items: center; }
.legend svg { width: 12px; height: 12px; }
.legend .swatch { width: 10px; height: 10px; border-radius: 3px; border: 1.5px solid; display: inline-block; }

.main { flex: 1; display: flex; min-height: 0; position: relative; }
.pane { flex: 1; position: relative; min-width: 0; overflow: hidden; border-right: 1px solid var(--border); }
.pane:last-child { border-right: none; }
.main.stacked { flex-direction: column; }
.main.stacked .pane { border-right: none; border-bottom: 1px solid var(--border); min-height: 0; }
.main.stacked .pane:last-child { border-bottom: none; }
.pane .pane-title { position: absolute; top: 4px; left: 8px; font-size: 12px; color: var(--muted); pointer-events: none; z-index: 2; background: var(--bg); padding: 0 4px; border-radius: 3px; }
.pane svg.graph, .pane canvas.graph { width: 100%; height: 100%; display: block; cursor: grab; touch-action: none; user-select: none; }
.pane svg.graph.panning, .pane canvas.graph.panning { cursor: grabbing; }
.overlay-message { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center; color: var(--muted); padding: 24px; text-align: center; white-space: pre-wrap; }
.overlay-message.error { color: var(--vscode-errorForeground); }
.overlay-message[hidden] { display: none; }

svg.graph text { font-family: var(--graph-font); fill: var(--fg); }
svg.graph .node rect.box { fill: var(--widget); stroke: var(--c-edge); stroke-width: 1.2; }
svg.graph .node .label { font-size: 12px; font-weight: bold; }
svg.graph .node .sub { font-size: 10px; fill: var(--muted); }
svg.graph .node { cursor: pointer; }
svg.graph .node text, svg.graph .elabel text, svg.graph .rule-mark, svg.graph .fillin { pointer-events: none; }
svg.graph .node:hover rect.box { stroke: var(--accent); }
svg.graph .role-input rect.box { stroke: var(--c-input); fill: color-mix(in srgb, var(--c-input) 14%, var(--bg)); }
svg.graph .role-param rect.box { stroke: var(--c-param); fill: color-mix(in srgb, var(--c-param) 14%, var(--bg)); }
svg.graph .role-state rect.box { stroke: var(--c-state); fill: color-mix(in srgb, var(--c-state) 14%, var(--bg)); }
svg.graph .role-target rect.box { stroke: var(--muted); stroke-dasharray: 5 2; }
svg.graph .role-const rect.box { stroke: var(--muted); stroke-dasharray: 3 2; fill: var(--bg); }
svg.graph .role-output rect.box, svg.graph .role-state-next rect.box { stroke: var(--c-output); stroke-width: 2.4; fill: color-mix(in srgb, var(--c-output) 12%, var(--bg)); }
svg.graph .role-loss rect.box { stroke: var(--c-loss); stroke-width: 2.4; fill: color-mix(in srgb, var(--c-loss) 12%, var(--bg)); }
svg.graph .role-group rect.box { stroke-width: 1.6; fill: var(--widget); }
svg.graph .role-group rect.stack { fill: var(--widget); stroke: var(--c-edge); stroke-width: 1; }
svg.graph .group rect { fill: color-mix(in srgb, var(--muted) 7%, transparent); stroke: var(--border); stroke-dasharray: 4 3; }
svg.graph .group .gtitle { font-size: 11px; font-weight: bold; fill: var(--muted); cursor: pointer; }
svg.graph .literal rect { fill: var(--bg); stroke: var(--muted); stroke-dasharray: 2 2; }
svg.graph .literal text { font-size: 10px; fill: var(--muted); }
svg.graph .band text { font-size: 11px; fill: var(--muted); }
svg.graph .band line { stroke: var(--border); stroke-dasharray: 2 4; }
svg.graph .edge { fill: none; stroke: var(--c-edge); stroke-width: 1.2; }
svg.graph .edge.data { stroke-dasharray: 4 3; opacity: 0.7; }
svg.graph .edge-hit { fill: none; stroke: transparent; stroke-width: 9; cursor: help; }
svg.graph .edge-hit:hover + .edge, svg.graph .edge.hover { stroke: var(--accent); stroke-width: 2; }
svg.graph .elabel rect { fill: var(--bg); opacity: 0.88; }
svg.graph .elabel text { font-size: 10px; }
svg.graph .glyph { color: var(--accent); }
svg.graph marker path { fill: var(--c-edge); }
svg.graph marker path.fill-head { fill: var(--c-fill); }

/* selection (editor cursor, search, click) */
svg.graph .node.selected rect.box { stroke: var(--accent); stroke-width: 3; }
svg.graph .node.match rect.box { fill: var(--sel); }
/* elimination */
svg.graph .node.eliminated { opacity: 0.22; }
svg.graph .node.current { opacity: 0.5; }
svg.graph .node.current rect.box { stroke: var(--c-fill); stroke-width: 3; stroke-dasharray: 4 2; }
svg.graph .edge.dead, svg.graph .elabel.dead { opacity: 0.08; }
svg.graph .edge.updated { stroke: var(--c-fill); stroke-width: 2.2; }
svg.graph .fillin { fill: none; stroke: var(--c-fill); stroke-width: 2.2; stroke-dasharray: 6 3; }
svg.graph .fillin.new { stroke-width: 3; }
/* rule view */
svg.graph .edge.rule-zero, svg.graph .edge.rule-stop { stroke: var(--c-loss); stroke-width: 2.2; stroke-dasharray: 3 3; }
svg.graph .edge.rule-diagonal { stroke: var(--c-input); stroke-width: 2.6; }
svg.graph .edge.rule-dense { stroke: var(--c-output); stroke-width: 2.2; }
svg.graph .rule-mark { font-size: 12px; font-weight: bold; }
svg.graph .rule-mark.zero, svg.graph .rule-mark.stop { fill: var(--c-loss); }
svg.graph .rule-mark.diagonal { fill: var(--c-input); }

.tooltip { position: fixed; z-index: 10; pointer-events: none; background: var(--vscode-editorHoverWidget-background); color: var(--vscode-editorHoverWidget-foreground, var(--fg)); border: 1px solid var(--vscode-editorHoverWidget-border); padding: 4px 8px; border-radius: 3px; font-size: 12px; max-width: 480px; box-shadow: 0 2px 8px rgba(0,0,0,0.16); }
.tooltip .math { font-family: var(--graph-font); font-size: 13px; }
.tooltip .detail { color: var(--muted); font-size: 11px; }
.tooltip[hidden] { display: none; }
.toast { position: absolute; right: 12px; bottom: 12px; background: var(--widget); border: 1px solid var(--border); padding: 6px 10px; border-radius: 4px; font-size: 12px; z-index: 5; }
.toast[hidden] { display: none; }

.panel { border-top: 1px solid var(--border); height: 250px; min-height: 120px; display: flex; flex-direction: column; }
.panel.closed { height: auto; min-height: 0; }
.panel.closed vscode-tabs::part(content), .panel.closed .tab-body { display: none; }
.panel vscode-tabs { height: 100%; }
.tab-body { padding: 6px 10px; overflow: auto; height: 100%; box-sizing: border-box; }
.stepper-controls { display: flex; align-items: center; gap: 6px; flex-wrap: wrap; }
.stepper-controls input[type=range] { flex: 1; min-width: 120px; accent-color: var(--accent); }
.stepper-controls .step-text { font-variant-numeric: tabular-nums; color: var(--muted); min-width: 240px; }
.stepper-body { display: flex; gap: 16px; margin-top: 6px; align-items: flex-start; flex-wrap: wrap; }
.counters { display: flex; flex-direction: column; gap: 4px; min-width: 320px; }
.counter { font-variant-numeric: tabular-nums; display: grid; grid-template-columns: 14px 90px auto; gap: 2px 6px; align-items: baseline; }
.counter .key { width: 10px; height: 3px; border-radius: 2px; align-self: center; }
.counter .name { font-weight: 600; }
.counter .nums { color: var(--fg); }
.counter .nums b { font-weight: 600; }
.counter .detail { grid-column: 2 / 4; color: var(--muted); font-size: 11px; }
.source-note { color: var(--muted); font-size: 11px; margin-top: 4px; }
.chart { flex: 1; min-width: 280px; display: flex; gap: 8px; }
.chart svg { flex: 1; min-width: 0; height: 150px; display: block; }
.chart text { font-size: 10px; fill: var(--muted); font-family: var(--vscode-font-family, sans-serif); }
.chart .axis { stroke: var(--border); }
.chart .grid { stroke: var(--border); stroke-dasharray: 2 3; }
.chart .series { fill: none; stroke-width: 1.8; }
.chart .cursor { stroke: var(--c-fill); stroke-width: 1.2; }
.chart .title { font-size: 11px; fill: var(--fg); font-weight: 600; }
.s0 { stroke: var(--c-input); background: var(--c-input); color: var(--c-input); }
.s1 { stroke: var(--c-param); background: var(--c-param); color: var(--c-param); }
.s2 { stroke: var(--c-state); background: var(--c-state); color: var(--c-state); }
.s3 { stroke: var(--c-output); background: var(--c-output); color: var(--c-output); }
.s4 { stroke: var(--c-loss); background: var(--c-loss); color: var(--c-loss); }
.rules-list, .notes-list { display: flex; flex-direction: column; gap: 4px; }
.rule-block { display: flex; gap: 8px; align-items: center; cursor: pointer; padding: 2px 4px; border-radius: 3px; }
.rule-block:hover { background: var(--hover); }
.rule-block code { font-family: var(--vscode-editor-font-family, monospace); }
.badge { font-size: 11px; padding: 0 6px; border-radius: 8px; border: 1px solid currentColor; }
.badge.zero, .badge.stop { color: var(--c-loss); }
.badge.diagonal { color: var(--c-input); }
.badge.dense { color: var(--c-output); }
.charts-row { display: flex; gap: 12px; flex-wrap: wrap; }
.chart svg.raster { height: 200px; }
.chart .spike { fill: var(--fg); }
.activity h3 { font-size: 12px; margin: 10px 0 4px; }
.charts-row .chart { min-width: 240px; }
.muted { color: var(--muted); }
.candidates { border-collapse: collapse; font-variant-numeric: tabular-nums; }
.candidates tr.flagged td:first-child { color: var(--vscode-editorWarning-foreground, #b58900); }
svg.scatter { display: block; margin: 6px 0; }
svg.scatter .frame, svg.scatter .grid { stroke: var(--border); }
svg.scatter .grid { stroke-dasharray: 2 3; }
svg.scatter .tick, svg.scatter .axis, svg.scatter .plabel { fill: var(--fg, currentColor); font-size: 10px; }
svg.scatter .point { fill: var(--vscode-charts-blue, #3794ff); stroke: var(--vscode-charts-blue, #3794ff); }
svg.scatter .point.unfit { fill: none; }
.candidates td, .candidates th { padding: 2px 8px; text-align: left; border-bottom: 1px solid var(--border); }
body.vscode-high-contrast svg.graph .node rect.box { stroke-width: 2; }
body.vscode-high-contrast svg.graph .edge { stroke: var(--fg); }
`;

export function installStyles(nonce: string | undefined): void {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    return;
  } catch {
    // Engines without constructed stylesheets: a <style> element carrying the page's nonce.
  }
  const style = document.createElement('style');
  if (nonce) style.nonce = nonce;
  style.textContent = CSS;
  document.head.appendChild(style);
}
