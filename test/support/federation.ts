/**
 * Federation as the service wires it (service/composition.ts): the client library behind
 * federation's port (`federationClient`), and the bundle operations with it filled in. Tests
 * that build federation's pieces themselves (an UpstreamManager, a sync, an import) take them
 * from here, as the server and the CLI do from the composition root.
 */
import { bundles } from '../../service/composition.js';

export { federationClient } from '../../service/composition.js';
export const { importBundle, importFromRegistry, pushBundle, pullBundle } = bundles;
