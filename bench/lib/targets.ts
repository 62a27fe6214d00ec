/**
 * Evaluates the scenarios' targets on the run's own figures (ratios within the same run).
 * A target whose subject timed out in every round is missed, not "not measured".
 */
import type { Scenario } from "../scenarios.js"
import type { Group } from "./protocol.js"
import { timedOut } from "./ratios.js"

export interface Verdict {
  readonly scenario: string
  readonly label: string
  readonly better: "higher" | "lower"
  readonly threshold: number
  readonly unit: "×" | "ms" | "MB"
  readonly value: number | undefined
  readonly min: number | undefined
  readonly max: number | undefined
  /** undefined: not measured (the scenario failed or was not run). */
  readonly met: boolean | undefined
  readonly note?: string
}

export const evaluate = (
  scenarios: ReadonlyArray<Scenario>,
  groups: ReadonlyArray<Group>
): Array<Verdict> =>
  scenarios.flatMap((scenario) => {
    const group = groups.find((g) => g.id === scenario.id)
    return scenario.targets.map((t): Verdict => {
      const base = {
        scenario: scenario.id,
        label: t.label,
        better: t.better,
        threshold: t.threshold,
        unit: t.unit ?? ("×" as const)
      }
      const r = group === undefined ? undefined : t.measure(group)
      if (r === undefined) {
        return group !== undefined && timedOut(group, t.subject)
          ? { ...base, value: undefined, min: undefined, max: undefined, met: false, note: "timed out" }
          : { ...base, value: undefined, min: undefined, max: undefined, met: undefined }
      }
      const met = t.better === "higher" ? r.median >= t.threshold : r.median <= t.threshold
      return { ...base, value: r.median, min: r.min, max: r.max, met }
    })
  })

export const fmtValue = (unit: Verdict["unit"], v: number | undefined): string =>
  v === undefined ? "—" : unit === "×" ? `${v.toFixed(2)}×` : `${v.toFixed(0)} ${unit}`
