OPENQASM 3.0;
include "stdgates.inc";
qubit[3] q;
bit c0;
bit c1;
bit[3] result;

// state to send
u3(0.3, 0.2, 0.1) q[0];
// Bell pair
h q[1];
cx q[1], q[2];
// Bell measurement
cx q[0], q[1];
h q[0];
c0 = measure q[0];
c1 = measure q[1];
// corrections
if (c1 == 1) { x q[2]; }
if (c0 == 1) { z q[2]; }
barrier q;
result = measure q;
