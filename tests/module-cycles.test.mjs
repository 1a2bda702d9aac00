// kassa-server's modules depend on one another without cycles: each module's `crate::…`,
// `super::…` and `use super::*` references, and a parent's uses of its children, form a graph
// with no strongly connected component of more than one module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { root } from './support/server.mjs';

const src = join(root, 'server', 'src');

function modules() {
  const found = new Map();
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.rs')) {
        let module = relative(src, path).slice(0, -3).split('/').join('::').replace(/(::)?mod$/, '');
        if (module === 'lib' || module === 'main') module = 'crate';
        // Unit tests inside a file (`mod tests { use super::*; }`) are that module's own.
        found.set(module, readFileSync(path, 'utf8').replace(/\/\/.*$/gm, ''));
      }
    }
  };
  walk(src);
  return found;
}

function dependencies(mods) {
  const moduleOf = (path) => {
    const parts = path.split('::');
    for (let k = parts.length; k > 0; k--) {
      const candidate = parts.slice(0, k).join('::');
      if (mods.has(candidate)) return candidate;
    }
    return 'crate';
  };
  const edges = new Map([...mods.keys()].map((m) => [m, new Set()]));
  for (const [module, text] of mods) {
    const parent = module.includes('::') ? module.slice(0, module.lastIndexOf('::')) : 'crate';
    const refs = [...text.matchAll(/crate::([A-Za-z_]+(?:::[A-Za-z_]+)*)/g)].map((m) => moduleOf(m[1]));
    if (/^use super::\*/m.test(text)) refs.push(parent);
    for (const m of text.matchAll(/\bsuper::([A-Za-z_]+(?:::[A-Za-z_]+)*)/g)) refs.push(moduleOf(parent === 'crate' ? m[1] : `${parent}::${m[1]}`));
    for (const m of text.matchAll(/^\s*(?:pub(?:\([a-z]+\))? )?use (?:self::)?([a-z_]+)::/gm)) {
      if (module !== 'crate' && mods.has(`${module}::${m[1]}`)) refs.push(`${module}::${m[1]}`);
    }
    for (const ref of refs) if (ref !== module && ref !== 'crate') edges.get(module).add(ref);
  }
  return edges;
}

/** Tarjan's strongly connected components with more than one module. */
function cycles(edges) {
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

test('kassa-server has no module cycles', () => {
  const mods = modules();
  assert.ok(mods.size > 40, `read ${mods.size} modules`);
  const edges = dependencies(mods);
  assert.ok(edges.get('http::payments').has('payments'), 'the graph sees a handler use its flow');
  assert.deepEqual(cycles(edges), []);
});

test('the check finds a cycle when there is one', () => {
  const edges = dependencies(new Map([
    ['a', 'use crate::b::thing;'],
    ['b', 'pub fn thing() { crate::a::other() }'],
    ['c', 'use crate::a;'],
  ]));
  assert.deepEqual(cycles(edges), [['a', 'b']]);
});
