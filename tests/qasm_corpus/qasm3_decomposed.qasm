OPENQASM 3.0;
include "stdgates.inc";
// gates outside qlab's library, which pyqasm decomposes into library gates
qubit[4] q;
cs q[0], q[1];
csdg q[1], q[2];
csx q[2], q[3];
ecr q[0], q[3];
c3x q[0], q[1], q[2], q[3];
cphaseshift00(0.3) q[1], q[2];
pow(3) @ t q[0];
