OPENQASM 3.0;
include "stdgates.inc";
const float half = pi / 2;

gate rot(theta, phi, lambda) a { rz(-lambda) a; ry(2 * theta) a; rz(phi + half) a; }
gate ent(theta) a, b { rot(theta, -theta, theta / 2) a; cx a, b; rot(-theta, pi, 0) b; }
gate block(t) a, b, c { ent(t) a, b; ent(2 * t) b, c; inv @ ent(t / 3) a, c; }

qubit[3] q;
block(0.125) q[0], q[1], q[2];
inv @ block(-0.75) q[2], q[0], q[1];
pow(2) @ rot(0.1, 0.2, 0.3) q[1];
ctrl @ x q[2], q[0];
ctrl @ rz(0.4) q[1], q[2];
ctrl @ u3(0.1, 0.2, 0.3) q[0], q[1];
negctrl @ h q[1], q[2];
inv @ u2(0.5, -0.25) q[0];
inv @ sx q[1];
gphase(0.3);
