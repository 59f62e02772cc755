/**
 * Pure pieces both stores share: which index entries a step makes, a journey's summary, and the
 * causal tree built from its steps (a node per envelope id; a node's children are the messages
 * whose causationId is its envelope id; a message whose cause is not in the journey is a root).
 */
import type { JourneyStep } from '@events/core';
import { JOURNEY_DEFAULTS, type Journey, type JourneyNode, type JourneyStepView, type JourneySummary } from './types.js';

const KINDS = new Set(['emit', 'handle', 'enqueue', 'attempt', 'replay', 'broadcast']);
const TIERS = new Set(['pubsub', 'bus', 'queue']);
const OUTCOMES = new Set(['ok', 'retry', 'dead_letter', 'error']);

/** The values a step is found by: its correlation id, envelope id, job id and keys (deduplicated, at most `max`). */
export function indexValues(step: JourneyStep, max: number = JOURNEY_DEFAULTS.maxIndexPerStep): string[] {
  const values = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === 'string' && value.length > 0 && value.length <= JOURNEY_DEFAULTS.maxQueryLength && values.size < max) values.add(value);
  };
  add(step.correlationId);
  add(step.envelopeId);
  add(step.jobId);
  for (const key of step.keys ?? []) add(key);
  return [...values];
}

/** A step read back from storage, or undefined when it is not one (foreign or damaged data). */
export function asStep(value: unknown): JourneyStep | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const s = value as Record<string, unknown>;
  const text = (v: unknown): boolean => typeof v === 'string';
  const maybe = (v: unknown, check: (v: unknown) => boolean): boolean => v === undefined || check(v);
  const num = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
  const ok =
    KINDS.has(s.kind as string) &&
    TIERS.has(s.tier as string) &&
    OUTCOMES.has(s.outcome as string) &&
    text(s.system) &&
    text(s.name) &&
    text(s.envelopeId) &&
    text(s.correlationId) &&
    num(s.at) &&
    maybe(s.causationId, text) &&
    maybe(s.jobId, text) &&
    maybe(s.group, text) &&
    maybe(s.attempt, num) &&
    maybe(s.durationMs, num) &&
    maybe(s.error, text) &&
    maybe(s.traceId, text) &&
    maybe(s.keys, (k) => Array.isArray(k) && k.every(text));
  return ok ? (s as unknown as JourneyStep) : undefined;
}

/** Steps that send a message: its first step, whatever the clocks say about the steps that consume it. */
const SENDS: ReadonlySet<JourneyStep['kind']> = new Set(['emit', 'enqueue', 'replay', 'broadcast']);

/**
 * The steps in time order (stable: steps of one millisecond keep their recorded order). A step that
 * consumes a message (a handle, an attempt) never comes before the step that sent it: their times
 * come from different clocks and roundings (an attempt's start is its end minus a duration), so
 * within a millisecond or two they may claim the wrong order.
 */
function ordered(steps: readonly JourneyStep[]): JourneyStep[] {
  const sentAt = new Map<string, number>();
  for (const step of steps) {
    if (SENDS.has(step.kind)) sentAt.set(step.envelopeId, Math.min(sentAt.get(step.envelopeId) ?? Number.POSITIVE_INFINITY, step.at));
  }
  const when = (step: JourneyStep): number => (SENDS.has(step.kind) ? step.at : Math.max(step.at, sentAt.get(step.envelopeId) ?? step.at));
  return steps
    .map((step, i) => ({ step, i, at: when(step), send: SENDS.has(step.kind) ? 0 : 1 }))
    .sort((a, b) => a.at - b.at || a.send - b.send || a.i - b.i)
    .map((x) => x.step);
}

const failedAttempt = (s: JourneyStep): boolean => s.outcome === 'retry';

export function summarize(correlationId: string, steps: readonly JourneyStep[]): JourneySummary {
  const names: string[] = [];
  let startedAt = Number.POSITIVE_INFINITY;
  let lastAt = 0;
  let retries = 0;
  let deadLetters = 0;
  let errors = 0;
  // Names in order of time: a step is recorded when it ends, so recording order is not time order.
  for (const s of ordered(steps)) {
    if (names.length < 8 && !names.includes(s.name)) names.push(s.name);
    startedAt = Math.min(startedAt, s.at);
    lastAt = Math.max(lastAt, s.at + (s.durationMs ?? 0));
    if (failedAttempt(s)) retries += 1;
    if (s.outcome === 'dead_letter') deadLetters += 1;
    if (s.outcome === 'error') errors += 1;
  }
  return { correlationId, startedAt: steps.length ? startedAt : 0, lastAt, steps: steps.length, names, retries, deadLetters, errors };
}

interface MutableNode {
  envelopeId: string;
  first: JourneyStep;
  steps: JourneyStepView[];
  end: number;
  children: MutableNode[];
}

/** The journey of `steps` (any order) with its causal tree; `truncated` when the store left steps out. */
export function buildJourney(correlationId: string, steps: readonly JourneyStep[], truncated = false): Journey {
  const sorted = ordered(steps);
  const start = sorted.reduce((min, s) => Math.min(min, s.at), sorted[0]?.at ?? 0);
  const views: JourneyStepView[] = sorted.map((s) => ({ ...s, offsetMs: s.at - start }));
  const nodes = new Map<string, MutableNode>();
  for (const view of views) {
    let node = nodes.get(view.envelopeId);
    if (!node) nodes.set(view.envelopeId, (node = { envelopeId: view.envelopeId, first: view, steps: [], end: view.at, children: [] }));
    node.steps.push(view);
    node.end = Math.max(node.end, view.at + (view.durationMs ?? 0));
    // A cause learnt from a later step (an attempt after an enqueue that was not kept) still counts.
    if (node.first.causationId === undefined && view.causationId !== undefined) node.first = { ...node.first, causationId: view.causationId };
  }
  const roots: MutableNode[] = [];
  for (const node of nodes.values()) {
    const cause = node.first.causationId;
    const parent = cause !== undefined && cause !== node.envelopeId ? nodes.get(cause) : undefined;
    // A cycle (a hostile or damaged cause) would hide both nodes: the later one becomes a root.
    if (parent && !reaches(parent, node, nodes)) parent.children.push(node);
    else roots.push(node);
  }
  const freeze = (node: MutableNode): JourneyNode => {
    const last = [...node.steps].reverse().find((s) => s.kind === 'attempt' || s.kind === 'handle' || s.kind === 'replay');
    const { first } = node;
    return {
      envelopeId: node.envelopeId,
      tier: first.tier,
      system: first.system,
      name: first.name,
      ...(first.causationId !== undefined ? { causationId: first.causationId } : {}),
      ...(node.steps.find((s) => s.jobId !== undefined)?.jobId !== undefined ? { jobId: node.steps.find((s) => s.jobId !== undefined)!.jobId! } : {}),
      offsetMs: first.at - start,
      durationMs: node.end - first.at,
      steps: node.steps,
      deadLetter: last?.outcome === 'dead_letter',
      children: node.children.map(freeze),
    };
  };
  return { ...summarize(correlationId, sorted), stepList: views, roots: roots.map(freeze), truncated };
}

/** Whether `from`'s chain of causes reaches `target` (then linking target under from would close a cycle). */
function reaches(from: MutableNode, target: MutableNode, nodes: Map<string, MutableNode>): boolean {
  let at: MutableNode | undefined = from;
  for (let hops = 0; at && hops <= nodes.size; hops += 1) {
    if (at === target) return true;
    const cause: string | undefined = at.first.causationId;
    at = cause !== undefined && cause !== at.envelopeId ? nodes.get(cause) : undefined;
  }
  return false;
}
