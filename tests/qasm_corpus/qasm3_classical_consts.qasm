OPENQASM 3.0;
include "stdgates.inc";
// compile-time classical values: const, loops, aliases, switch on a constant, subroutines
const int n = 4;
const float theta = pi / 7;
float[64] scale = 0.5;
angle shift = pi / 3;

def entangle(qubit a, qubit b, float t) {
  h a;
  crx(t) a, b;
}

qubit[n] q;
bit[n] c;
let head = q[0];
let tail = q[1:3];

for int i in [0:n - 2] {
  entangle(q[i], q[i + 1], theta * (i + 1));
}
rz(scale * shift) head;
x tail;
switch (n) {
  case 4 { rx(theta) q[3]; }
  default { ry(theta) q[3]; }
}
c = measure q;
