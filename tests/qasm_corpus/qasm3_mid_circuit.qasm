OPENQASM 3.0;
include "stdgates.inc";
qubit[3] q;
bit[2] c;
bit[1] d;

h q[0];
c[0] = measure q[0];
reset q[0];
if (c[0]) x q[1];
if (c[0] == 1) { h q[2]; }
cx q[1], q[2];
c[1] = measure q[2];
if (c == 3) {
  z q[0];
  rx(pi / 4) q[1];
}
if (c == 2) { x q[0]; } else { y q[0]; }
if (c >= 2) { s q[2]; }
if (c != 1) { t q[1]; }
if (!c[1]) { sdg q[1]; }
if (c[0] == 1) {
  if (c[1] == 0) {
    reset q[2];
  }
}
barrier q;
d[0] = measure q[1];
if (d == 1) {
  x q[1];
  d[0] = measure q[1];
}
