# tsbox machine code for x86_64 (System V ABI, Linux syscall ABI).
#
# Why machine code at all: a Deno process is multi-threaded from its first
# line, so a child made by clone() must not run a single instruction of
# JavaScript (or of the Rust runtime) before execve. These three functions are
# the only code that runs in that child. All policy is decided in TypeScript,
# which hands the child a *syscall program*: a flat array of syscalls with
# their arguments (see ffi/program.ts for the byte layout).
#
# Regenerate ffi/x86_64/trampoline.ts with `deno task gen-trampoline` after
# editing; tests check that the bytes there match this file.
#
# Entry points (offsets are exported by the generator):
#   tsbox_syscall(nr, a0..a5) -> rax     raw syscall, returns -errno on error
#   tsbox_spawn(launch*) -> rax          block signals, clone, child runs program
#
        .intel_syntax noprefix
        .text

# long tsbox_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
# Returns the raw kernel result: no errno, so the result is the same on
# whatever thread Deno runs the call.
        .globl tsbox_syscall
tsbox_syscall:
        mov     rax, rdi
        mov     rdi, rsi
        mov     rsi, rdx
        mov     rdx, rcx
        mov     r10, r8
        mov     r8, r9
        mov     r9, [rsp+8]
        syscall
        ret

# long tsbox_spawn(struct launch *l)
#   struct launch {
#     u64 nr;          //  0  clone3 (435) or clone (56)
#     u64 args[6];     //  8  syscall arguments
#     u64 program;     // 56  syscall program the child runs
#     u64 allmask;     // 64  ~0: every signal
#     u64 oldmask;     // 72  written: the caller's signal mask
#   };
# All signals are blocked around the clone so the child cannot enter a Deno
# signal handler; the program unblocks them just before execve.
        .globl tsbox_spawn
tsbox_spawn:
        push    rbx
        mov     rbx, rdi
        mov     eax, 14                 # rt_sigprocmask(SIG_SETMASK, &all, &old, 8)
        mov     edi, 2
        lea     rsi, [rbx+64]
        lea     rdx, [rbx+72]
        mov     r10d, 8
        syscall
        mov     rax, [rbx]              # clone3 / clone
        mov     rdi, [rbx+8]
        mov     rsi, [rbx+16]
        mov     rdx, [rbx+24]
        mov     r10, [rbx+32]
        mov     r8, [rbx+40]
        mov     r9, [rbx+48]
        syscall
        test    rax, rax
        jz      .Lchild
        push    rax                     # parent: restore the mask, keep rax
        mov     eax, 14                 # rt_sigprocmask(SIG_SETMASK, &old, NULL, 8)
        mov     edi, 2
        lea     rsi, [rbx+72]
        xor     edx, edx
        mov     r10d, 8
        syscall
        pop     rax
        pop     rbx
        ret
.Lchild:                                # child: same stack addresses, own copy
        mov     rdi, [rbx+56]
        jmp     tsbox_run

# noreturn tsbox_run(struct program *p)
#   struct program {
#     u32 magic;  u32 nops;  i32 errfd;  i32 tracefd;    //  0
#     u64 regs[8];                                      // 16
#     struct op ops[nops];                              // 80, 64 bytes each
#   };
#   struct op {
#     u32 nr;      u8 flags;  u8 dst;  u8 argregs;  u8 okerr;   //  0
#     u64 args[6];                                              //  8
#     i64 expect;                                               // 56
#   };
#   flags: 1 = CONTINUE (a failure moves on to the next op)
#          2 = EXPECT   (a result other than `expect` is a failure)
#   dst:     register that receives the result (0: none)
#   argregs: bit i set: args[i] is a register number, not a value
#   okerr:   this errno counts as success (result 0)
# A failure writes {u32 index, u32 0, i64 result} to errfd and exits 125.
# With tracefd >= 0, every op writes {u32 index, u32 0, i64 result,
# i64 tv_sec, i64 tv_nsec} (CLOCK_MONOTONIC) to tracefd.
# Running off the end exits 0.
        .globl tsbox_run
tsbox_run:
        mov     r12, rdi                # program
        lea     r13, [rdi+80]           # current op
        xor     r14d, r14d              # index
        mov     r15d, [rdi+4]           # nops
        sub     rsp, 64                 # record buffer
        and     rsp, -16
.Lloop:
        cmp     r14d, r15d
        jae     .Ldone
        movzx   ebx, byte ptr [r13+6]   # argregs
        mov     rdi, [r13+8]
        test    bl, 1
        jz      1f
        mov     rdi, [r12+16+rdi*8]
1:      mov     rsi, [r13+16]
        test    bl, 2
        jz      1f
        mov     rsi, [r12+16+rsi*8]
1:      mov     rdx, [r13+24]
        test    bl, 4
        jz      1f
        mov     rdx, [r12+16+rdx*8]
1:      mov     r10, [r13+32]
        test    bl, 8
        jz      1f
        mov     r10, [r12+16+r10*8]
1:      mov     r8, [r13+40]
        test    bl, 16
        jz      1f
        mov     r8, [r12+16+r8*8]
1:      mov     r9, [r13+48]
        test    bl, 32
        jz      1f
        mov     r9, [r12+16+r9*8]
1:      mov     eax, [r13]
        syscall
        mov     rbp, rax                # result
        movzx   ecx, byte ptr [r13+7]   # okerr
        test    ecx, ecx
        jz      1f
        neg     rcx
        cmp     rbp, rcx
        jne     1f
        xor     ebp, ebp
1:      movzx   ecx, byte ptr [r13+5]   # dst
        test    ecx, ecx
        jz      1f
        mov     [r12+16+rcx*8], rbp
1:      mov     edi, [r12+12]           # tracefd
        test    edi, edi
        js      1f
        mov     [rsp], r14d
        mov     dword ptr [rsp+4], 0
        mov     [rsp+8], rbp
        mov     eax, 228                # clock_gettime(CLOCK_MONOTONIC, rsp+16)
        mov     edi, 1
        lea     rsi, [rsp+16]
        syscall
        mov     eax, 1                  # write(tracefd, rsp, 32)
        mov     edi, [r12+12]
        mov     rsi, rsp
        mov     edx, 32
        syscall
1:      cmp     rbp, -4095              # -4095..-1 is an errno
        jae     .Lerror
        test    byte ptr [r13+4], 2
        jz      .Lnext
        cmp     rbp, [r13+56]
        jne     .Lfail
.Lnext:
        add     r13, 64
        inc     r14d
        jmp     .Lloop
.Lerror:
        test    byte ptr [r13+4], 1
        jnz     .Lnext
.Lfail:
        mov     [rsp], r14d
        mov     dword ptr [rsp+4], 0
        mov     [rsp+8], rbp
        mov     eax, 1                  # write(errfd, rsp, 16)
        mov     edi, [r12+8]
        mov     rsi, rsp
        mov     edx, 16
        syscall
        mov     eax, 231                # exit_group(125)
        mov     edi, 125
        syscall
.Ldone:
        mov     eax, 231                # exit_group(0)
        xor     edi, edi
        syscall
