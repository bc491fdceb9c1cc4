OPENQASM 3.0;
include "stdgates.inc";
const duration idle = 250ns;
qubit[2] q;
bit[1] c;
delay[100ns] q[0];
delay[1.5us] q;
delay[2ms] q[1];
delay[0.5s] q[0];
delay[idle] q[1];
delay[2 * idle] q[0];
x q[0];
c[0] = measure q[0];
if (c[0] == 1) {
  delay[20ns] q[1];
  x q[1];
}
