// AirlockMirror: `airlock serve`, the imported store as a package source.
import Hummingbird
