/**
 * The data a scenario child process hands back to the orchestrator (`bench/run.ts`).
 *
 * Children write one JSON file (path in `BENCH_OUT`) instead of printing to stdout, so a
 * library that logs cannot corrupt the result.
 */

/** One alternative's raw samples, in the order the interleaved rounds ran them. */
export interface AltSamples {
  readonly name: string
  /** One figure per counted round (ms for time groups, MB for memory groups). */
  readonly samples: ReadonlyArray<number>
  /** Extra figures per round (e.g. peak RSS next to peak heap), keyed by name. */
  readonly extra?: Readonly<Record<string, ReadonlyArray<number>>>
  readonly note?: string
}

/** A set of alternatives measured against each other in the same rounds. */
export interface Group {
  readonly id: string
  readonly title: string
  /** A shorter title for the chart, where the full one does not fit. */
  readonly short?: string
  /** What one sample measures: "ms" (wall time, lower is better) or "MB" (memory). */
  readonly unit: "ms" | "MB"
  /** Tasks per run, to print throughput or µs per task next to the time. */
  readonly tasks?: number
  /** Name of the alternative every ratio in this group is computed against. */
  readonly baseline: string
  /** Further alternatives to show ratios against (targets are stated against them). */
  readonly alsoVs?: ReadonlyArray<string>
  readonly alternatives: ReadonlyArray<AltSamples>
  readonly notes?: ReadonlyArray<string>
}

export interface FamilyResult {
  readonly family: string
  readonly groups: ReadonlyArray<Group>
  /** Alternatives that could not run, with the reason (e.g. a module not landed yet). */
  readonly skipped: ReadonlyArray<{ readonly name: string; readonly reason: string }>
}

/** How hard a child should work: the orchestrator passes this in `BENCH_MODE`. */
export type Mode = "quick" | "full"

export const modeFromEnv = (): Mode => process.env.BENCH_MODE === "quick" ? "quick" : "full"
