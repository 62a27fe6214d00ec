/**
 * The targets, evaluated on the run's own figures (ratios in the same run only).
 * Each target names the group, the alternative and the anchor; a missing side reads "n/a".
 */
import type { FamilyResult, Group } from "./protocol.js"
import { ratio } from "./ratios.js"

export interface Target {
  readonly label: string
  readonly group: string
  readonly alt: string
  readonly vs: string
  /** "speed": alt must be >= threshold × as fast; "time"/"size": alt must be <= threshold ×. */
  readonly kind: "speed" | "time" | "size"
  readonly threshold: number
}

export interface Verdict extends Target {
  readonly value: number | undefined
  readonly met: boolean | undefined
}

const submitTargets = (alt: string): Array<Target> => [
  {
    label: `${alt}, sync: ≥ 1.0× fastq`,
    group: "throughput-sync",
    alt,
    vs: "fastq (promise)",
    kind: "speed",
    threshold: 1
  },
  {
    label: `${alt}, sync: ≥ 1.3× Effect.forEach`,
    group: "throughput-sync",
    alt,
    vs: "Effect.forEach",
    kind: "speed",
    threshold: 1.3
  }
]

const executeTargets: Array<Target> = ["sync", "async"].flatMap((v) =>
  ["supervisor execute (8 callers)", "supervisor execute (1024 callers)"].map((alt) => ({
    label: `${alt}, ${v}: ≥ 0.7× p-limit`,
    group: `throughput-${v}`,
    alt,
    vs: "p-limit",
    kind: "speed" as const,
    threshold: 0.7
  }))
)

export const TARGETS: ReadonlyArray<Target> = [
  ...submitTargets("supervisor submit"),
  ...submitTargets("supervisor submitAll"),
  ...executeTargets,
  {
    label: "memory: peak heap 1M ≤ 1.3× 100k (supervisor submit)",
    group: "memory-supervisor submit",
    alt: "1M",
    vs: "100k",
    kind: "size",
    threshold: 1.3
  },
  {
    label: "threads echo: time ≤ 1.5× piscina",
    group: "threads-echo",
    alt: "supervisor Threads",
    vs: "piscina",
    kind: "time",
    threshold: 1.5
  },
  {
    label: "threads fib: time ≤ 1.1× piscina",
    group: "threads-fib",
    alt: "supervisor Threads",
    vs: "piscina",
    kind: "time",
    threshold: 1.1
  }
]

const findGroup = (families: ReadonlyArray<FamilyResult>, id: string): Group | undefined =>
  families.flatMap((f) => f.groups).find((g) => g.id === id)

export const evaluate = (families: ReadonlyArray<FamilyResult>): Array<Verdict> =>
  TARGETS.map((t) => {
    const group = findGroup(families, t.group)
    const r = group === undefined ? undefined : ratio(group, t.alt, t.vs)
    if (r === undefined) return { ...t, value: undefined, met: undefined }
    // Time groups yield speed ratios; a time target is the inverse of the speed.
    const value = t.kind === "time" ? 1 / r.median : r.median
    return { ...t, value, met: t.kind === "speed" ? value >= t.threshold : value <= t.threshold }
  })
