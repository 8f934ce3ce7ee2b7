#!/usr/bin/env python3
"""Runs a wrk command and prints, besides its rate and p99, the CPU time per
request of the server (pid in the file named by FILINGDESK_BENCH_PIDFILE),
of PostgreSQL's processes, of wrk itself, of the rest, and the machine's idle
time, from /proc. Used by ab-page.sh (BENCHMARKS "Fourteenth part").

    cpu-per-request.py wrk -t2 -c32 -d8s --latency URL
"""
import subprocess, sys, os, time
spid = int(open(os.environ['FILINGDESK_BENCH_PIDFILE']).read())
HZ = os.sysconf('SC_CLK_TCK')
def proc_cpu(pid):
    try:
        f = open(f'/proc/{pid}/stat').read().rsplit(')',1)[1].split()
        return int(f[11]) + int(f[12])  # utime stime
    except Exception: return 0
def pg_pids():
    out=[]
    for p in os.listdir('/proc'):
        if p.isdigit():
            try:
                if open(f'/proc/{p}/comm').read().strip()=='postgres': out.append(int(p))
            except Exception: pass
    return out
def total():
    l = open('/proc/stat').readline().split()[1:]
    v = list(map(int,l)); return sum(v), v[3]+v[4]
def snap(): return proc_cpu(spid), {p:proc_cpu(p) for p in pg_pids()}, total()
s0=snap(); t0=time.time()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, text=True)
out,_ = p.communicate()
s1=snap(); t1=time.time()
# wrk's own cpu: children times
srv=(s1[0]-s0[0])/HZ
pgc=sum(v - s0[1].get(k,0) for k,v in s1[1].items())/HZ
tot=(s1[2][0]-s0[2][0])/HZ; idle=(s1[2][1]-s0[2][1])/HZ
ru = os.times()
wrk=ru.children_user+ru.children_system
# A run with any answer but 2xx measured something else: stop with wrk's report.
if 'Non-2xx' in out:
    sys.exit(out)
rps=[l for l in out.splitlines() if 'Requests/sec' in l][0].split()[1]
p99=[l for l in out.splitlines() if l.strip().startswith('99%')]
n=float(rps)*(t1-t0)
print(f"rps {float(rps):.0f} p99 {p99[0].split()[1] if p99 else '?'}  per request µs: server {srv/n*1e6:.0f} postgres {pgc/n*1e6:.0f} wrk {wrk/n*1e6:.0f} other {(tot-idle-srv-pgc-wrk)/n*1e6:.0f} idle {idle/n*1e6:.0f}  (machine {tot/(t1-t0):.2f} cpu-s/s)")
