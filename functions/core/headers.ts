/** Header names the platform owns live in the contract, shared with the fronts and the edge. */
export * from '../contract/headers.ts';
