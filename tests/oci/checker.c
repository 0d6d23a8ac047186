// The conformance suite's checker: a static program copied into each test
// bundle's root (as crun's tests/init.c and runtime-tools' validation
// programs are) that reports what the container's process sees through the
// kernel, for facts busybox cannot show. Built by tests/oci/lib.ts with
// `gcc -static`. Usage: /checker VERB [ARGS...]; prints one line per fact.
//
//   syscall NR [A0..A5]   raw syscall; prints "ret=R errno=E"
//   personality           current personality (hex)
//   clocks                CLOCK_MONOTONIC and CLOCK_BOOTTIME seconds
//   rlimits               "RLIMIT_X soft hard" for every resource
//   umask                 the umask (octal)
//   nnp                   PR_GET_NO_NEW_PRIVS
//   fds                   the open fds, space separated
//   ids                   uid, gid and supplementary groups
//   fifo-write FD         write one byte to an inherited fd; "ok" or errno
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *rl[] = {"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK",
                           "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE",
                           "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
                           "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME"};

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *v = argv[1];
  if (!strcmp(v, "syscall")) {
    long a[7] = {0};
    for (int i = 2; i < argc && i < 9; i++) a[i - 2] = strtol(argv[i], NULL, 0);
    errno = 0;
    long r = syscall(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
    printf("ret=%ld errno=%d\n", r, r < 0 ? errno : 0);
  } else if (!strcmp(v, "personality")) {
    printf("%x\n", personality(0xffffffff));
  } else if (!strcmp(v, "clocks")) {
    struct timespec m, b;
    clock_gettime(CLOCK_MONOTONIC, &m);
    clock_gettime(CLOCK_BOOTTIME, &b);
    printf("monotonic %ld\nboottime %ld\n", (long)m.tv_sec, (long)b.tv_sec);
  } else if (!strcmp(v, "rlimits")) {
    for (int i = 0; i < 16; i++) {
      struct rlimit r;
      getrlimit(i, &r);
      printf("%s %lld %lld\n", rl[i], r.rlim_cur == RLIM_INFINITY ? -1LL : (long long)r.rlim_cur,
             r.rlim_max == RLIM_INFINITY ? -1LL : (long long)r.rlim_max);
    }
  } else if (!strcmp(v, "umask")) {
    mode_t m = umask(0);
    printf("%04o\n", m);
  } else if (!strcmp(v, "nnp")) {
    printf("%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
  } else if (!strcmp(v, "fds")) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int self = d ? dirfd(d) : -1;
    while (d && (e = readdir(d)))
      if (e->d_name[0] != '.' && atoi(e->d_name) != self) printf("%s ", e->d_name);
    printf("\n");
  } else if (!strcmp(v, "ids")) {
    gid_t g[64];
    int n = getgroups(64, g);
    printf("uid=%d gid=%d groups=", getuid(), getgid());
    for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", g[i]);
    printf("\n");
  } else if (!strcmp(v, "fifo-write") && argc > 2) {
    if (write(atoi(argv[2]), "x", 1) == 1) printf("ok\n");
    else printf("errno=%d\n", errno);
  } else {
    return 2;
  }
  return 0;
}
