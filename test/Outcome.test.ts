import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, pipe } from "effect"
import { Errors, Outcome, Supervisor } from "effect-supervisor"

describe("Outcome", () => {
  const all: ReadonlyArray<Outcome.Outcome<number, string, "bad">> = [
    Outcome.success(1, "one", 2),
    Outcome.failure(2, "bad"),
    Outcome.defect(3, "boom", Cause.die("boom")),
    Outcome.interrupted(4),
    Outcome.dropped(5)
  ]

  it("match dispatches on the tag", () => {
    const described = all.map((o) =>
      Outcome.match(o, {
        Success: (s) => `ok ${s.value} in ${s.attempts}`,
        Failure: (f) => `failed ${String(f.error)}`,
        Defect: (d) => `defect ${String(d.defect)}`,
        Interrupted: (i) => `interrupted ${i.task}`,
        Dropped: (d) => `dropped ${d.task}`
      })
    )
    expect(described).toEqual(["ok one in 2", "failed bad", "defect boom", "interrupted 4", "dropped 5"])
  })

  it("match is dual: data-last gives what data-first gives", () => {
    const cases: Outcome.Cases<number, string, "bad", string> = {
      Success: (s) => `ok ${s.value}`,
      Failure: (f) => `failed ${f.error}`,
      Defect: (d) => `defect ${String(d.defect)}`,
      Interrupted: (i) => `interrupted ${i.task}`,
      Dropped: (d) => `dropped ${d.task}`
    }
    const dataLast = all.map(Outcome.match(cases))
    expect(dataLast).toEqual(all.map((o) => Outcome.match(o, cases)))
    expect(dataLast).toEqual(["ok one", "failed bad", "defect boom", "interrupted 4", "dropped 5"])
    expect(pipe(all[1], Outcome.match(cases))).toBe("failed bad")
  })

  it("guards narrow exactly one tag each", () => {
    const guards = [Outcome.isSuccess, Outcome.isFailure, Outcome.isDefect, Outcome.isInterrupted, Outcome.isDropped]
    guards.forEach((guard, i) => expect(all.map((o) => guard(o))).toEqual(all.map((_, j) => j === i)))
  })

  it.effect("a timeout after the last attempt is a Failure carrying TaskTimeout", () =>
    Effect.gen(function*() {
      const summary = yield* Supervisor.run([1], { workers: 1, timeout: 0, handler: () => Effect.never })
      const [failure] = summary.failures
      expect(failure !== undefined && Outcome.isFailure(failure) && failure.error).toBeInstanceOf(Errors.TaskTimeout)
    }))
})
