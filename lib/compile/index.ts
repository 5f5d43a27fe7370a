// Public entry point of the pure compiler.
export * from './compile';
