// The `chainflow/layers` lint rule: each folder imports only what DESIGN.md's layout table
// allows (the policies are in eslint.config.js, one block per folder).
//
// Why not `no-restricted-imports`: it matches the specifier text, not the file it names, so
// it cannot tell `../scope.ts` from chain/nodes/ (inside chain/) from `../config.ts` from
// chain/ (outside), and flat config replaces a rule's options instead of merging them, so
// a second block for a folder silently drops the first one's restrictions. This rule
// resolves relative specifiers against the importing file and takes one policy per file.
import { builtinModules } from 'node:module';
import { dirname, relative, resolve, sep } from 'node:path';

const ROOT = import.meta.dirname;
const BUILTINS = new Set(builtinModules);
/** Bare specifiers with our package name are our own code (a package self-reference). */
const OWN_PACKAGE = 'chainflow';

/**
 * @typedef {object} LayerPolicy
 * @property {string} layer      how messages name the folder, e.g. 'chain/'
 * @property {string} why        the reason, appended to every message
 * @property {number} [within]   relative imports may stay inside the importer's first `within` path segments (1: its top folder; 2: `plugins/<id>/`)
 * @property {string[]} [ours]   more of our code it may import: repo paths ('chain/runtime.ts', 'chain/') or `chainflow/…` specifiers
 * @property {string[]} [oursTypeOnly]  our code it may import with `import type` only
 * @property {string[] | '*'} [packages]  the npm packages it may import ('*': any)
 * @property {string[]} [packagesTypeOnly]  npm packages it may import with `import type` only
 * @property {boolean} [builtins] whether Node built-ins are allowed (default false)
 */

const pathList = { type: 'array', items: { type: 'string' } };

/** @type {import('eslint').Rule.RuleModule} */
const layers = {
  meta: {
    type: 'problem',
    docs: { description: "Each folder imports only what DESIGN.md's layout table allows" },
    schema: [
      {
        type: 'object',
        properties: {
          layer: { type: 'string' },
          why: { type: 'string' },
          within: { type: 'integer', minimum: 1 },
          ours: pathList,
          oursTypeOnly: pathList,
          packages: { anyOf: [pathList, { const: '*' }] },
          packagesTypeOnly: pathList,
          builtins: { type: 'boolean' },
        },
        required: ['layer', 'why'],
        additionalProperties: false,
      },
    ],
    messages: {
      builtin: "{{layer}} imports no Node built-ins ('{{specifier}}'). {{why}}",
      package: "{{layer}} may not import the package '{{specifier}}' (allowed: {{allowed}}). {{why}}",
      ours: "{{layer}} may not import {{target}} (allowed of our code: {{allowed}}). {{why}}",
      typeOnly: "{{layer}} may import {{target}} as types only: write `import type … from '{{specifier}}'`. {{why}}",
    },
  },
  create(context) {
    /** @type {LayerPolicy} */
    const policy = context.options[0];
    const file = toRepoPath(context.filename);
    const home = `${file.split('/').slice(0, policy.within ?? 1).join('/')}/`;
    const ours = policy.ours ?? [];
    const oursTypeOnly = policy.oursTypeOnly ?? [];
    const packages = policy.packages ?? [];
    const packagesTypeOnly = policy.packagesTypeOnly ?? [];
    const data = (specifier, extra) => ({ layer: policy.layer, why: policy.why, specifier, ...extra });

    /** @param {import('estree').Node} node @param {string} specifier @param {boolean} typeOnly */
    function check(node, specifier, typeOnly) {
      const report = (messageId, extra) => context.report({ node, messageId, data: data(specifier, extra) });
      if (specifier.startsWith('.') || specifier.startsWith('/')) {
        const target = toRepoPath(resolve(dirname(context.filename), specifier));
        if (inside(target, [home])) return;
        if (inside(target, ours)) return;
        if (inside(target, oursTypeOnly)) {
          if (!typeOnly) report('typeOnly', { target });
          return;
        }
        report('ours', { target, allowed: describeOurs(home, ours, oursTypeOnly) });
        return;
      }
      const bare = specifier.startsWith('node:') ? specifier.slice(5) : specifier;
      if (specifier.startsWith('node:') || BUILTINS.has(bare) || BUILTINS.has(bare.split('/')[0])) {
        if (!policy.builtins) report('builtin');
        return;
      }
      const name = packageName(specifier);
      if (name === OWN_PACKAGE) {
        if (ours.includes(specifier)) return;
        if (oursTypeOnly.includes(specifier)) {
          if (!typeOnly) report('typeOnly', { target: specifier });
          return;
        }
        report('ours', { target: specifier, allowed: describeOurs(home, ours, oursTypeOnly) });
        return;
      }
      if (packages === '*' || packages.includes(name)) return;
      if (packagesTypeOnly.includes(name)) {
        if (!typeOnly) report('typeOnly', { target: `the package '${name}'` });
        return;
      }
      const allowed = [...packages, ...packagesTypeOnly.map((p) => `${p} (types)`)];
      report('package', { allowed: allowed.length ? allowed.join(', ') : 'none' });
    }

    const source = (node) => (node.source && typeof node.source.value === 'string' ? node.source.value : undefined);
    return {
      ImportDeclaration(node) {
        // Only `import type` is erased: with verbatimModuleSyntax, `import { type X } from 'm'`
        // still loads 'm' (as `import {} from 'm'`).
        check(node, node.source.value, node.importKind === 'type');
      },
      ExportNamedDeclaration(node) {
        const specifier = source(node);
        if (specifier !== undefined) check(node, specifier, node.exportKind === 'type');
      },
      ExportAllDeclaration(node) {
        check(node, node.source.value, node.exportKind === 'type');
      },
      ImportExpression(node) {
        if (node.source.type === 'Literal' && typeof node.source.value === 'string') check(node, node.source.value, false);
      },
      TSImportType(node) {
        // typescript-eslint 8.x: `source` (a string literal); older: `argument` (a literal type).
        const literal = 'source' in node ? node.source : node.argument?.literal;
        if (literal?.type === 'Literal' && typeof literal.value === 'string') check(node, literal.value, true);
      },
      TSExternalModuleReference(node) {
        if (node.expression.type === 'Literal' && typeof node.expression.value === 'string') check(node, node.expression.value, false);
      },
    };
  },
};

/** `/repo/chain/x.ts` → `chain/x.ts`; outside the repository: `../…` (matches nothing). */
function toRepoPath(path) {
  return relative(ROOT, path).split(sep).join('/');
}

/** Whether a repo path is one of the entries or inside one of the folders (entries ending in '/'). */
function inside(target, entries) {
  return entries.some((entry) => (entry.endsWith('/') ? `${target}/`.startsWith(entry) : target === entry));
}

function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function describeOurs(home, ours, oursTypeOnly) {
  return [home, ...ours, ...oursTypeOnly.map((p) => `${p} (types)`)].join(', ');
}

export default { rules: { layers } };
