OPENQASM 3.0;
include "stdgates.inc";
// several registers of each kind, in both declaration styles
qubit[2] data;
qubit ancilla;
qreg extra[3];
bit[2] result;
bit check;
creg syndrome[3];

h data;
cx data[0], ancilla;
cx data[1], ancilla;
check = measure ancilla;
x extra;
cz extra[0], extra[2];
syndrome = measure extra;
result[1] = measure data[1];
result[0] = measure data[0];
