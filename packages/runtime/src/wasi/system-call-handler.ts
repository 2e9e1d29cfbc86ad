import type { ProcessContext } from './process-context.ts';
import type { SystemCallName, SystemCallParameters } from './signatures.ts';

/**
 * The handler of system call `Name`: the program's process context, then exactly the parameters
 * the signature table lists (i32 as unsigned numbers, i64 as bigints). Returns the errno, or a
 * promise of it for a call that waits.
 */
export type SystemCallHandler<Name extends SystemCallName> = (context: ProcessContext, ...args: SystemCallParameters<Name>) => number | Promise<number>;

/** One handler for every system call in the signature table. */
export type SystemCallHandlers = { readonly [Name in SystemCallName]: SystemCallHandler<Name> };

/**
 * `Handlers` with each handler that does not take exactly its call's parameters replaced by an
 * error message. TypeScript accepts a function with fewer parameters where more are passed, so the
 * handler types alone would let a handler that skipped a parameter (and so read the wrong one) pass.
 */
type ExactArity<Handlers> = {
  [Name in keyof Handlers]: Name extends SystemCallName
    ? Handlers[Name] extends (...args: infer Parameters) => unknown
      ? Parameters['length'] extends [ProcessContext, ...SystemCallParameters<Name>]['length']
        ? Handlers[Name]
        : `${Name} takes the context and ${SystemCallParameters<Name>['length']} parameters`
      : Handlers[Name]
    : `${Name & string} is not a system call in signatures.ts`;
};

/**
 * Declares the handlers of one family of system calls, typing each from the signature table:
 * a handler whose parameters differ in number or type from its import's, or a name the table
 * lacks, fails to compile.
 */
export function defineSystemCalls<Handlers extends Partial<SystemCallHandlers>>(handlers: Handlers & ExactArity<Handlers>): Handlers {
  return handlers;
}
