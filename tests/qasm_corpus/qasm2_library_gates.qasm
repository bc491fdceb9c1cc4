OPENQASM 2.0;
include "qelib1.inc";
// gates missing from the original qelib1.inc, defined from its gates
gate sx a { sdg a; h a; sdg a; }
gate sxdg a { s a; h a; s a; }
gate rxy(theta, phi) a { u3(theta, phi - pi/2, pi/2 - phi) a; }
gate swap a, b { cx a, b; cx b, a; cx a, b; }
gate iswap a, b { s a; s b; h a; cx a, b; cx b, a; h b; }
gate crx(theta) a, b { u1(pi/2) b; cx a, b; u3(-theta/2, 0, 0) b; cx a, b; u3(theta/2, -pi/2, 0) b; }
gate cry(theta) a, b { ry(theta/2) b; cx a, b; ry(-theta/2) b; cx a, b; }
gate cu(theta, phi, lambda, gamma) c, t { u1(gamma) c; u1((lambda+phi)/2) c; u1((lambda-phi)/2) t; cx c, t; u3(-theta/2, 0, -(phi+lambda)/2) t; cx c, t; u3(theta/2, phi, 0) t; }
gate rxx(theta) a, b { h a; h b; cx a, b; u1(theta) b; cx a, b; h a; h b; }
gate ryy(theta) a, b { rx(pi/2) a; rx(pi/2) b; cx a, b; rz(theta) b; cx a, b; rx(-pi/2) a; rx(-pi/2) b; }
gate rzz(theta) a, b { cx a, b; u1(theta) b; cx a, b; }
gate cswap a, b, c { cx c, b; ccx a, b, c; cx c, b; }
qreg q[2];
qreg r[1];
id q[0];
x q[0];
y q[1];
z r[0];
h q[0];
s q[1];
sdg r[0];
t q[0];
tdg q[1];
sx r[0];
sxdg q[0];
rx(0.1) q[0];
ry(-0.2) q[1];
rz(0.3) r[0];
u1(0.5) q[1];
u2(0.6, -0.7) r[0];
u3(0.8, 0.9, -1.0) q[0];
U(1.1, 1.2, 1.3) q[1];
rxy(1.4, -1.5) r[0];
cx q[0], q[1];
CX q[1], r[0];
cy q[1], r[0];
cz r[0], q[0];
ch q[0], r[0];
swap q[1], q[0];
iswap r[0], q[1];
crx(1.6) q[0], q[1];
cry(-1.7) q[1], r[0];
crz(1.8) r[0], q[0];
cu1(1.9) q[0], r[0];
cu3(0.2, 0.3, 0.4) q[1], q[0];
cu(2.1, -2.2, 2.3, 0.25) r[0], q[1];
rxx(2.4) q[0], q[1];
ryy(-2.5) q[1], r[0];
rzz(2.6) r[0], q[0];
ccx q[0], q[1], r[0];
cswap r[0], q[0], q[1];
