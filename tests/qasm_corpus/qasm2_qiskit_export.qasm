OPENQASM 2.0;
include "qelib1.inc";
// definitions as Qiskit's exporter writes them: equal to qlab's gates up to global phase
gate rzz(param0) q0,q1 { cx q0,q1; u1(param0) q1; cx q0,q1; }
gate sx q0 { sdg q0; h q0; sdg q0; }
gate swap q0,q1 { cx q0,q1; cx q1,q0; cx q0,q1; }
gate rxx(param0) q0,q1 { u3(pi/2,param0,0) q0; h q1; cx q0,q1; u1(-param0) q1; cx q0,q1; h q1; u2(-pi,pi-param0) q0; }
// a user gate that reuses a library name for something else is inlined, not trusted
gate cry(theta) a,b { ry(theta) b; }
qreg q[2];
creg c[2];
rzz(0.7) q[0],q[1];
sx q[1];
swap q[0],q[1];
rxx(-0.3) q[1],q[0];
cry(1.25) q[0],q[1];
measure q -> c;
