package app

import "github.com/go-gl/glfw/v3.3/glfw"

// askNoDepthOrStencilBuffer asks GLFW for a window with neither a depth nor a stencil buffer.
// Fyne's painter draws every frame in painter's order with the depth test off and never
// touches the stencil, yet it clears the depth buffer each frame; GLFW's defaults (24 depth
// and 8 stencil bits) make the OpenGL driver keep a 4-byte-per-pixel buffer beside the
// window's colour buffers. Under a software renderer (Mesa's llvmpipe, what a laptop
// without a GPU driver gets) that buffer lives in the process's memory: about 3 MB for the
// 1024×720 window, more at 4K, and clearing it costs CPU on every frame. Nothing drawn
// changes: OpenGL ignores clearing a buffer the window does not have
// (TestDepthAndStencilAreNotUsed checks that Fyne's painter still draws with the depth test
// off and no stencil).
//
// It must run on the main thread after GLFW is initialised (Fyne does that when the first
// window is made) and before that window is shown, which is when GLFW creates it.
func askNoDepthOrStencilBuffer() {
	glfw.WindowHint(glfw.DepthBits, 0)
	glfw.WindowHint(glfw.StencilBits, 0)
}
