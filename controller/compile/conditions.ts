// Turns what the compiler found about one resource into its status conditions.
// Every resource gets Accepted and ResolvedRefs; Conflicted only when some of its matches lost a conflict.
// No timestamps: the status writer adds them, so compile output stays a pure function of its input.
import type { Condition } from '../../crds/schemas/index.ts';
import { describeProblem, describeProblems, type FieldProblem } from './field-path.ts';

/** Whether the resource as written is valid, and what is served instead when it is not. */
export type Acceptance =
  | { valid: true; notes: string[] }
  | { valid: false; problems: FieldProblem[]; fallback: { generation: number | undefined } | undefined };

/** A reference that did not resolve; `reason` becomes the condition's reason when it is the first one. */
export interface RefProblem extends FieldProblem {
  reason: string;
}

export type RefResolution =
  /** Not checked: nothing valid to check it on. */
  | { checked: false }
  | { checked: true; problems: RefProblem[]; notes: FieldProblem[]; ofFallback: boolean };

export interface ConditionInput {
  acceptance: Acceptance;
  refs: RefResolution;
  conflicts: string[];
  generation: number | undefined;
}

export function buildConditions(input: ConditionInput): Condition[] {
  const gen = input.generation === undefined ? {} : { observedGeneration: input.generation };
  const conditions: Condition[] = [
    { type: 'Accepted', ...acceptedParts(input.acceptance), ...gen },
    { type: 'ResolvedRefs', ...resolvedRefsParts(input.refs), ...gen },
  ];
  if (input.conflicts.length > 0) {
    conditions.push({ type: 'Conflicted', status: 'True', reason: 'RouteConflict', message: input.conflicts.join('; '), ...gen });
  }
  return conditions.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
}

type Parts = Pick<Condition, 'status' | 'reason' | 'message'>;

function acceptedParts(a: Acceptance): Parts {
  if (a.valid) return { status: 'True', reason: 'Accepted', message: ['Spec is valid', ...a.notes].join('; ') };
  let message = describeProblems(a.problems);
  if (a.fallback) {
    const gen = a.fallback.generation === undefined ? '' : ` (generation ${a.fallback.generation})`;
    message += `; still serving the last accepted version${gen}`;
  } else {
    message += '; not served';
  }
  return { status: 'False', reason: 'Invalid', message };
}

function resolvedRefsParts(r: RefResolution): Parts {
  if (!r.checked) return { status: 'Unknown', reason: 'Invalid', message: 'References not checked: the resource is invalid' };
  const suffix = r.ofFallback ? ' (checked on the last accepted version)' : '';
  const notes = r.notes.map(describeProblem);
  const first = r.problems[0];
  if (first === undefined) {
    return { status: 'True', reason: 'ResolvedRefs', message: ['All references resolved', ...notes].join('; ') + suffix };
  }
  return { status: 'False', reason: first.reason, message: [describeProblems(r.problems), ...notes].join('; ') + suffix };
}
