// The addresses a harness node and its pods use, shared by the control plane (which advertises the
// apiserver at the node's address), the node and the databases pods connect to.

/**
 * The run's node address: a documentation address (RFC 5737 TEST-NET-2; this machine kind's own
 * network is TEST-NET-1) that the node puts on its bridge, so traffic to it stays on the machine.
 * The apiserver is advertised here (the `kubernetes` Service's endpoint), and databases that pods
 * use listen here.
 */
export const NODE_IP = '198.51.100.10';

/** Pod addresses: each node takes one /24 of this range (its bridge is the pods' gateway). */
export const POD_CIDR = '10.88.0.0/16';
