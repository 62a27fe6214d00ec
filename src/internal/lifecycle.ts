/**
 * A supervisor's lifecycle, as one state union (the shape of effect's `internal/mailbox.ts`):
 * `Open` accepts tasks; `Draining` stops accepting — gracefully (the queue drains) or not
 * (workers are interrupted), possibly because the restart policy escalated; `Stopped` holds the
 * exit every `shutdown` caller receives. Callers waiting for the stop live inside the state.
 *
 * Transitions only go forward: Open → Draining(graceful) → Draining(now) → Stopped.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { Escalated } from "../Errors.js"

type Waiter<S> = (exit: Exit.Exit<S, Escalated>) => void

/** @internal */
export type Phase<S> =
  | { readonly _tag: "Open"; readonly waiters: Set<Waiter<S>> }
  | {
    readonly _tag: "Draining"
    readonly graceful: boolean
    readonly escalation: Escalated | undefined
    readonly waiters: Set<Waiter<S>>
  }
  | { readonly _tag: "Stopped"; readonly exit: Exit.Exit<S, Escalated>; readonly escalation: Escalated | undefined }

/** @internal */
export class Lifecycle<S> {
  phase: Phase<S> = { _tag: "Open", waiters: new Set() }

  get isOpen(): boolean {
    return this.phase._tag === "Open"
  }

  /** a stop that interrupts is under way: start nothing new */
  get halting(): boolean {
    return this.phase._tag === "Stopped" || (this.phase._tag === "Draining" && !this.phase.graceful)
  }

  get escalation(): Escalated | undefined {
    return this.phase._tag === "Open" ? undefined : this.phase.escalation
  }

  /**
   * Moves towards a stop. Returns what changed: `"started"` (this call began the stop),
   * `"hardened"` (a graceful drain now interrupts), or `undefined` (nothing new).
   */
  drain(graceful: boolean, escalation?: Escalated): "started" | "hardened" | undefined {
    const phase = this.phase
    if (phase._tag === "Open") {
      this.phase = { _tag: "Draining", graceful, escalation, waiters: phase.waiters }
      return "started"
    }
    if (phase._tag === "Draining" && phase.graceful && !graceful) {
      this.phase = {
        _tag: "Draining",
        graceful: false,
        escalation: escalation ?? phase.escalation,
        waiters: phase.waiters
      }
      return "hardened"
    }
    return undefined
  }

  /** The one end: every waiter gets `summary`, or `Escalated` when the policy gave up. */
  stop(summary: S): void {
    const phase = this.phase
    if (phase._tag === "Stopped") return
    const escalation = phase._tag === "Draining" ? phase.escalation : undefined
    const exit: Exit.Exit<S, Escalated> = escalation === undefined ? Exit.succeed(summary) : Exit.fail(escalation)
    this.phase = { _tag: "Stopped", exit, escalation }
    for (const waiter of phase.waiters) waiter(exit)
  }

  /** Waits for the stop (interruptible: the waiter leaves the state). */
  readonly await: Effect.Effect<S, Escalated> = Effect.async<S, Escalated>((resume) => {
    const phase = this.phase
    if (phase._tag === "Stopped") return resume(phase.exit)
    const waiter: Waiter<S> = (exit) => resume(exit)
    phase.waiters.add(waiter)
    return Effect.sync(() => {
      phase.waiters.delete(waiter)
    })
  })
}
