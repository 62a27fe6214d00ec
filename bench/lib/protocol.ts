/**
 * The data passed between the orchestrator (`bench/run.ts`) and the sample processes.
 *
 * Every sample is one fresh `node` process running the built package; it writes one JSON file
 * (path in `BENCH_OUT`) instead of printing to stdout, so a library that logs cannot corrupt
 * the result.
 */

/** What one sample process measured (its timed region only, unless the scenario says otherwise). */
export interface Sample {
  /** Wall time of the timed region. */
  readonly ms: number
  /** CPU time (user + system, every thread of the process) over the timed region. */
  readonly cpuMs: number
  /** Peak resident set size of the whole process (or process tree, for external commands). */
  readonly rssMB: number
}

/** What a sample process is asked to run: an alternative and its parameters. */
export interface SampleRequest {
  readonly alt: string
  readonly params: Readonly<Record<string, number | string>>
}

/** One alternative's samples, one per round, in round order (`undefined`: timed out). */
export interface AltResult {
  readonly name: string
  /** Tasks per sample when they differ between alternatives (scaling groups). */
  readonly tasks?: number
  readonly samples: ReadonlyArray<Sample | undefined>
}

/** A scenario's alternatives, measured against each other round by round. */
export interface Group {
  readonly id: string
  readonly title: string
  /** Tasks per sample, to print µs per task next to the time. */
  readonly tasks?: number
  /** The alternative every speed ratio in this group is computed against. */
  readonly baseline: string
  readonly alternatives: ReadonlyArray<AltResult>
  /** The load average (1 min) when the scenario started. */
  readonly loadAtStart: number
  readonly notes?: ReadonlyArray<string>
}

/** How hard to work: `quick` (CI smoke run) or `full`. */
export type Mode = "quick" | "full"
