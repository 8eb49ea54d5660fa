;; Hostile span processor, written by hand: `process` returns 10,000 span changes whose
;; `remove-attributes` lists all point at one shared list of 10,000 empty strings. The guest needs
;; under 1 MiB for it; copied naively the host would build 100 million strings (2.4 GB), each list
;; small on its own. The host must stop at the call's output cap and fail the call with
;; `output_too_large`.
(component
  (core module $libc
    (memory (export "memory") 128)
    (global $next (mut i32) (i32.const 0x10000))
    (func (export "realloc") (param i32 i32) (param $align i32) (param $size i32) (result i32)
      (local $ptr i32)
      (local.set $ptr (i32.and
        (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $ptr) (local.get $size)))
      (local.get $ptr)))
  (core instance $libc (instantiate $libc))

  (core module $main
    (import "libc" "memory" (memory 1))
    (data (i32.const 0x400) "hostile_nested")
    (data (i32.const 0x440) "0.1.0")
    (data (i32.const 0x480) "Hostile: nested lists that share entries (expect output_too_large)")
    (data (i32.const 0x800)
      "\00\04\00\00\0e\00\00\00" "\40\04\00\00\05\00\00\00" "\80\04\00\00\42\00\00\00" "\00")
    (func (export "describe") (result i32) (i32.const 0x800))

    ;; Span changes are 20 bytes: index @0, set-attributes @4, remove-attributes @12. The shared
    ;; inner list at 0x600000 is zeroed memory: 10,000 empty strings.
    (func (export "process") (param i32 i32) (result i32)
      (local $i i32) (local $at i32)
      (loop $next
        (local.set $at (i32.add (i32.const 0x200000) (i32.mul (local.get $i) (i32.const 20))))
        (i32.store (local.get $at) (local.get $i))
        (i32.store offset=12 (local.get $at) (i32.const 0x600000))
        (i32.store offset=16 (local.get $at) (i32.const 10000))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (i32.const 10000))))
      (i32.store8 (i32.const 0x900) (i32.const 0))
      (i32.store (i32.const 0x904) (i32.const 0x200000))
      (i32.store (i32.const 0x908) (i32.const 10000))
      (i32.const 0x900)))
  (core instance $main (instantiate $main (with "libc" (instance $libc))))

  (type $descriptor' (record (field "name" string) (field "version" string)
    (field "description" string) (field "config-schema" (option string))))
  (export $descriptor "descriptor" (type $descriptor'))
  (type $plugin-error' (variant (case "invalid-config" string) (case "invalid-input" string) (case "failed" string)))
  (export $plugin-error "plugin-error" (type $plugin-error'))
  (type $span' (record (field "project" string) (field "trace-id" string) (field "span-id" string)
    (field "parent-id" (option string)) (field "name" string) (field "kind" string)
    (field "status-code" string) (field "start-time-unix-nano" s64) (field "end-time-unix-nano" s64)
    (field "model-name" (option string)) (field "model-provider" (option string))
    (field "prompt-tokens" (option s64)) (field "completion-tokens" (option s64))
    (field "total-tokens" (option s64)) (field "attributes" string)))
  (export $span "span" (type $span'))
  (type $span-change' (record (field "index" u32) (field "set-attributes" string)
    (field "remove-attributes" (list string))))
  (export $span-change "span-change" (type $span-change'))

  (func (export "describe") (result $descriptor)
    (canon lift (core func $main "describe") (memory (core memory $libc "memory"))))
  (func (export "process") (param "spans" (list $span)) (result (result (list $span-change) (error $plugin-error)))
    (canon lift (core func $main "process") (memory (core memory $libc "memory"))
      (realloc (core func $libc "realloc"))))
)
