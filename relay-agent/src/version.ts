// The agent's version, from its package.json (bundled into dist by esbuild).
import pkg from '../package.json' with { type: 'json' };

export const AGENT_VERSION: string = pkg.version;
