/**
 * The NODE_OPTIONS the chart gives the node plugin (helm/templates/node-daemonset.yaml): bench part (m) measures the
 * plugin with and without them, and test/helm/chart.test.ts checks the chart still sets exactly these.
 */
export const NODE_PLUGIN_NODE_OPTIONS = '--max-semi-space-size=1 --jitless --max-old-space-size=64';

/**
 * The NODE_OPTIONS the chart gives the controller and the worker (helm/templates/controller-deployment.yaml,
 * worker-deployment.yaml; issue 14 item 5): test/helm/chart.test.ts checks the chart sets exactly these.
 * Bench part (s) runs its controller and worker with them.
 */
export const SERVER_NODE_OPTIONS = '--max-semi-space-size=4';
