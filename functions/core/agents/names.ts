/** Agent names: what a tenant admin calls an agent, what its Skills bind to, part of its keys. */
export const AGENT_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
