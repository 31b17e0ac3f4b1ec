// A build written once as a generator that yields wherever it may pause, run either at once (buildRouteIndex) or in
// time slices (the proxy's table applies), so the two cannot drift apart.
import type { Slicer } from './host-buckets.ts';

export type BuildSteps<T> = Generator<void, T, void>;

export function runSteps<T>(steps: BuildSteps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

export async function runStepsSliced<T>(steps: BuildSteps<T>, slicer: Slicer): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
    if (slicer.due()) await slicer.pause();
  }
}
