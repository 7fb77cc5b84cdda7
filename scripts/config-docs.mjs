// Generates the configuration reference from src/config/schema.ts (the one source of truth):
// docs/configuration.md, the table in README.md between <!-- config:start/end --> and .env.example.
//   node scripts/config-docs.mjs          write them
//   node scripts/config-docs.mjs --check  exit 1 if any is out of date (CI)
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

async function loadSchema() {
  const out = join(root, 'node_modules', '.cache', 'gatehouse', `schema-${process.pid}.mjs`);
  mkdirSync(dirname(out), { recursive: true });
  await esbuild.build({
    entryPoints: [join(root, 'src/config/schema.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
  });
  try {
    return (await import(pathToFileURL(out).href)).EnvSchema;
  } finally {
    rmSync(out, { force: true });
  }
}

function describe(field) {
  let node = field;
  let defaultValue;
  let optional = false;
  for (let i = 0; i < 10 && node?._zod; i++) {
    const def = node._zod.def;
    if (def.type === 'default') {
      defaultValue = typeof def.defaultValue === 'function' ? def.defaultValue() : def.defaultValue;
      node = def.innerType;
    } else if (def.type === 'optional') {
      optional = true;
      node = def.innerType;
    } else if (def.type === 'pipe') {
      node = def.in;
    } else break;
  }
  const values = node?._zod?.def?.type === 'enum' ? Object.values(node._zod.def.entries) : undefined;
  return { description: field.description ?? '', defaultValue, optional, values };
}

function rows(schema) {
  return Object.entries(schema.shape).map(([name, field]) => ({ name, ...describe(field) }));
}

const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(entries) {
  const lines = ['| Variable | Default | Description |', '| --- | --- | --- |'];
  for (const e of entries) {
    const def = e.defaultValue !== undefined ? `\`${e.defaultValue}\`` : e.optional ? '(unset)' : 'required';
    const allowed = e.values ? ` One of: ${e.values.map((v) => `\`${v}\``).join(', ')}.` : '';
    lines.push(`| \`${e.name}\` | ${cell(def)} | ${cell(e.description + allowed)} |`);
  }
  return lines.join('\n');
}

function envExample(entries) {
  const lines = [
    '# Gatehouse configuration. Every variable is optional: with none set, `npm start` serves on',
    '# http://localhost:3000 with the embedded database in ./data. Generated from src/config/schema.ts',
    '# by `node scripts/config-docs.mjs`; see docs/configuration.md.',
    '',
  ];
  for (const e of entries) {
    lines.push(`# ${e.description}${e.values ? ` (${e.values.join(' | ')})` : ''}`);
    lines.push(e.defaultValue !== undefined ? `# ${e.name}=${e.defaultValue}` : `# ${e.name}=`);
    lines.push('');
  }
  return lines.join('\n');
}

const entries = rows(await loadSchema());
const generated = table(entries);
const docs = `# Configuration\n\nGatehouse reads only environment variables, parsed once at start-up by one zod schema\n(\`src/config/schema.ts\`). A wrong value stops start-up with a message naming the variable.\nAn empty value counts as unset. This file is generated: \`node scripts/config-docs.mjs\`.\n\n${generated}\n`;

const readmePath = join(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const start = '<!-- config:start -->';
const end = '<!-- config:end -->';
const [before, rest] = readme.split(start);
const after = rest?.split(end)[1];
const newReadme = rest === undefined || after === undefined ? readme : `${before}${start}\n${generated}\n${end}${after}`;

const targets = [
  [join(root, 'docs', 'configuration.md'), docs],
  [readmePath, newReadme],
  [join(root, '.env.example'), envExample(entries)],
];

if (process.argv.includes('--check')) {
  const stale = targets.filter(([path, content]) => {
    try {
      return readFileSync(path, 'utf8') !== content;
    } catch {
      return true;
    }
  });
  if (stale.length) {
    console.error(
      `configuration docs are out of date: ${stale.map(([p]) => p.replace(`${root}/`, '')).join(', ')}\nrun: node scripts/config-docs.mjs`,
    );
    process.exit(1);
  }
  console.log('configuration docs are up to date');
} else {
  mkdirSync(join(root, 'docs'), { recursive: true });
  for (const [path, content] of targets) writeFileSync(path, content);
  console.log('wrote docs/configuration.md, README.md (config table) and .env.example');
}
