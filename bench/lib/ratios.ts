/**
 * Ratios within one run: two alternatives are paired round by round (they ran back to back in
 * the same round), and the median of the per-round ratios is reported with its min–max.
 */
import type { AltResult, Group, Sample } from "./protocol.js"
import type { Summary } from "./stats.js"
import { summarize } from "./stats.js"

export const findAlt = (group: Group, name: string): AltResult | undefined =>
  group.alternatives.find((a) => a.name === name)

/** Tasks one sample of `alt` ran (scaling groups vary it per alternative). */
export const tasksOf = (group: Group, alt: AltResult): number | undefined => alt.tasks ?? group.tasks

/** Median/min/max of `f` over the rounds where every named alternative has a sample. */
export const paired = (
  group: Group,
  names: ReadonlyArray<string>,
  f: (samples: ReadonlyArray<Sample>, alts: ReadonlyArray<AltResult>) => number
): Summary | undefined => {
  const alts = names.map((n) => findAlt(group, n))
  if (alts.some((a) => a === undefined)) return undefined
  const present = alts as ReadonlyArray<AltResult>
  const rounds = Math.min(...present.map((a) => a.samples.length))
  const values: Array<number> = []
  for (let i = 0; i < rounds; i++) {
    const samples = present.map((a) => a.samples[i])
    if (samples.every((s) => s !== undefined)) values.push(f(samples as ReadonlyArray<Sample>, present))
  }
  return values.length === 0 ? undefined : summarize(values)
}

/**
 * Speed of `alt` relative to `base`, per task (> 1: faster). With equal task counts this is
 * base time ÷ alt time.
 */
export const speed = (group: Group, alt: string, base: string): Summary | undefined =>
  paired(group, [alt, base], ([a, b], [altR, baseR]) => {
    const perTask = (s: Sample, r: AltResult) => s.ms / (tasksOf(group, r) ?? 1)
    return perTask(b!, baseR!) / perTask(a!, altR!)
  })

/** `alt`'s figure over `base`'s (CPU time, RSS, wall time: > 1 means alt uses more). */
export const relative = (
  group: Group,
  alt: string,
  base: string,
  key: keyof Sample
): Summary | undefined => paired(group, [alt, base], ([a, b]) => a![key] / b![key])

/** One alternative's own figure over its rounds. */
export const absolute = (group: Group, alt: string, key: keyof Sample): Summary | undefined =>
  paired(group, [alt], ([a]) => a![key])

/** True when every sample of the alternative timed out (it was then skipped in later rounds). */
export const timedOut = (group: Group, alt: string): boolean => {
  const a = findAlt(group, alt)
  return a !== undefined && a.samples.length > 0 && a.samples.every((s) => s === undefined)
}

export const fmtRatio = (s: Summary | undefined): string =>
  s === undefined ? "—" : `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`
