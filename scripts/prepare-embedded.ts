// `npm ci` runs this (package.json `prepare`, after the build): an initialised, empty PGlite
// cluster in dist/ to unpack new embedded databases from, so a first `npm start` skips initdb
// (src/db/pglite-cluster.ts). Never required: without it PGlite runs initdb itself. Node 24 runs
// this TypeScript file directly.
import { writeClusterTemplate } from '../src/db/pglite-cluster.ts';

const started = performance.now();
const path = await writeClusterTemplate();
console.log(`embedded database template: ${path} (${Math.round(performance.now() - started)} ms)`);
