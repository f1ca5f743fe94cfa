/**
 * The NODE_OPTIONS the chart gives the node plugin (helm/templates/node-daemonset.yaml): bench part (m) measures the
 * plugin with and without them, and test/helm/chart.test.ts checks the chart still sets exactly these.
 */
export const NODE_PLUGIN_NODE_OPTIONS = '--max-semi-space-size=1 --jitless --max-old-space-size=64';
