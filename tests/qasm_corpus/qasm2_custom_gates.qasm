OPENQASM 2.0;
include "qelib1.inc";

// nested definitions with parameter expressions
gate twist(theta, lambda) a { U(theta/2, -lambda, 2*theta) a; u1(-lambda) a; }
gate pair(theta) a, b { twist(theta, pi/4) a; CX a, b; twist(-theta, 3*pi/2) b; }
gate layer(alpha, beta) a, b, c { pair(alpha) a, b; pair(beta + alpha/3) b, c; cu1(-pi/8) a, c; }

qreg q[3];
qreg anc[2];
creg c[3];
creg flag[2];

layer(0.25, -1.5) q[0], q[1], q[2];
u2(pi/2, -pi) anc[0];
u3(0.1, 0.2, 0.3) anc[1];
cu3(0.4, -0.5, 0.6) anc[0], anc[1];
cx q, anc[0];
barrier q, anc;
measure q -> c;
measure anc -> flag;
if(c==5) x anc[1];
if(flag==2) pair(pi/3) q[0], anc[0];
reset anc;
if(flag==1) measure anc[0] -> c[0];
