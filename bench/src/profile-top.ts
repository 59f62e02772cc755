/**
 * `tsx bench/src/profile-top.ts <file.cpuprofile> [n]`: the functions with the most self time in a
 * V8 CPU profile (from `npm run bench -- --profile`), with file and line, plus the share of total
 * time spent under each of our own packages. Used to find a tier's hot path.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, countArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile-top <file.cpuprofile> [n]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const self = new Map<string, number>();
const under = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, k) => {
  const dt = profile.timeDeltas[k] ?? 0;
  total += dt;
  const node = byId.get(id)!;
  const f = node.callFrame;
  const where = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|packages)\//, '$1/')}:${f.lineNumber + 1}`;
  self.set(where, (self.get(where) ?? 0) + dt);
  // Inclusive time per package file: walk up once per distinct file.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const url = byId.get(cur)!.callFrame.url;
    const m = /\/packages\/([^/]+\/src\/.+)$/.exec(url);
    if (m && !seen.has(m[1]!)) {
      seen.add(m[1]!);
      under.set(m[1]!, (under.get(m[1]!) ?? 0) + dt);
    }
  }
});

const n = Number(countArg ?? 25);
const pct = (v: number): string => `${((v / total) * 100).toFixed(1).padStart(5)}%`;
console.log(`self time, top ${n} (total ${(total / 1e6).toFixed(2)} s sampled):`);
for (const [where, dt] of [...self].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${pct(dt)}  ${where}`);
console.log('\ninclusive time under our package files:');
for (const [where, dt] of [...under].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${pct(dt)}  ${where}`);
