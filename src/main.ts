// Composition root for the built bundle (dist/main.js): bin/gatehouse.js calls main().
export { main } from './cli/main.ts';
