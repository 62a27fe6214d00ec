/**
 * The Go seed, faithfully: tasks `Task{ID: i, Payload: i}` for i = 1..10 on 3 workers. Each
 * worker prints what it processed as it finishes (workers numbered from 1, as a Go pool started
 * with `for w := 1; w <= 3; w++` numbers them; `Supervisor.WorkerInfo` counts from 0), and the
 * program prints each result as it receives it.
 *
 *   npx tsx examples/double.ts
 */
import { Console, Effect } from "effect"
import { Supervisor } from "effect-supervisor"

interface Task {
  readonly id: number
  readonly payload: number
}

const tasks: ReadonlyArray<Task> = Array.from({ length: 10 }, (_, i) => ({ id: i + 1, payload: i + 1 }))

const double = (task: Task) =>
  Effect.gen(function*() {
    const worker = yield* Supervisor.WorkerInfo
    // stands in for real work (a request, a query): while one task waits, the other workers
    // take theirs, so all three show up below
    yield* Effect.sleep("10 millis")
    const value = task.payload * 2
    yield* Console.log(`Worker ${worker.id + 1} processed task ${task.id}: ${task.payload} -> ${value}`)
    return value
  })

const program = Effect.scoped(
  Effect.gen(function*() {
    const supervisor = yield* Supervisor.make({ workers: 3, handler: double })
    // all ten in flight at once; each result is printed as it arrives, like the seed's channel
    yield* Effect.forEach(
      tasks,
      (task) =>
        supervisor.execute(task).pipe(
          Effect.flatMap((value) => Console.log(`Received result for task ${task.id}: ${value}`))
        ),
      { concurrency: "unbounded", discard: true }
    )
  })
)

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
