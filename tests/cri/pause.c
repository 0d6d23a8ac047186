/* The pod sandbox's process for tests/oci_cri_test.ts (Kubernetes' "pause"):
 * holds the pod's namespaces, reaps orphans, exits 0 on SIGTERM or SIGINT.
 * Built with gcc -static, nothing is downloaded. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, 0, WNOHANG) > 0) {} }

int main(void) {
  signal(SIGTERM, stop);
  signal(SIGINT, stop);
  signal(SIGCHLD, reap);
  for (;;) pause();
}
