export declare const fib: (n: number) => number
export declare const perform: (kind: "echo" | "fib", x: number) => number
