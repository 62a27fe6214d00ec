/** Queue entries for the queue tests, made the way admission makes them. */
import { DONE, type Entry, QUEUED, type TaskQueue } from "../../../src/internal/queue/taskQueue.js"

/** A task object (not a primitive) so tests can tell, with a `WeakRef`, whether a queue still holds it. */
export interface Task {
  readonly id: number
}

export const entryMaker = () => {
  let seq = 0
  return (key = "", priority = 0): Entry<Task> => {
    const id = seq++
    return {
      task: { id },
      state: QUEUED,
      started: false,
      enqueuedAt: 0,
      key,
      priority,
      seq: id,
      settle: undefined,
      handle: undefined,
      prepared: undefined,
      abandoned: false
    }
  }
}

/** What the ledger does before a queue hears of a cancel or an end: the entry has its outcome. */
export const markDone = (entry: Entry<Task>): void => {
  entry.state = DONE
}

export const ids = (entries: ReadonlyArray<Entry<Task>> | undefined): Array<number> | undefined =>
  entries?.map((entry) => entry.task.id)

/**
 * Runs `step` `count` times and returns weak references to the tasks it tracks. The loop runs
 * in this function's own frame on purpose: a suspended async test body keeps the loop's last
 * locals alive, which would make one entry look retained by the queue.
 */
export const tracking = (count: number, step: (i: number, track: (entry: Entry<Task>) => void) => void) => {
  const refs: Array<WeakRef<Task>> = []
  const track = (entry: Entry<Task>) => refs.push(new WeakRef(entry.task))
  for (let i = 0; i < count; i++) step(i, track)
  return refs
}

/** Pushes `count` entries made by `next`, each cancelled at once; weak references to their tasks. */
export const pushAndCancel = (queue: TaskQueue<Task>, count: number, next: (i: number) => Entry<Task>) =>
  tracking(count, (i, track) => {
    const entry = next(i)
    track(entry)
    queue.push(entry)
    markDone(entry)
    queue.cancel(entry)
  })
