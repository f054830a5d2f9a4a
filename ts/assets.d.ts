/** Text assets embedded by the bundler (esbuild `text` loader). */
declare module '*.nnet' {
  const text: string;
  export default text;
}
